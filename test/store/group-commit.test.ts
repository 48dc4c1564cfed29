import { describe, expect, it } from 'vitest';
import type { NewJob, StoredJob } from '../../src/store/contract.js';
import { GroupCommit, type GroupStart } from '../../src/store/group-commit.js';

const job = (name: string) => ({ name }) as unknown as NewJob;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A group commit over a fake store: records each commit's callers, and answers when the test releases it. */
function gathering(start: GroupStart) {
  const commits: string[][] = [];
  const releases: Array<() => void> = [];
  const group = new GroupCommit(
    (batches) => {
      commits.push(batches.map((b) => b.map((j) => j.name).join('+')));
      return new Promise((resolve) => releases.push(() => resolve(batches.map((b) => ({ stored: b as unknown as StoredJob[] })))));
    },
    () => new Error('closed'),
    start,
  );
  const release = async () => {
    releases.shift()!();
    await Promise.resolve();
    await Promise.resolve();
  };
  return { group, commits, release };
}

describe('GroupCommit', () => {
  it("'turn': a lone caller waits for the end of the turn, with every caller of the turn", async () => {
    const { group, commits, release } = gathering('turn');
    const a = group.add([job('a')]);
    const b = group.add([job('b')]);
    expect(commits).toEqual([]);
    await turn();
    expect(commits).toEqual([['a', 'b']]);
    await release();
    await Promise.all([a, b]);
  });

  it("'idle': a caller who finds nothing under way is sent at once; those who come meanwhile go together after it", async () => {
    const { group, commits, release } = gathering('idle');
    const a = group.add([job('a')]);
    expect(commits).toEqual([['a']]);
    const b = group.add([job('b')]);
    const c = group.add([job('c')]);
    await turn();
    expect(commits).toEqual([['a']]);
    // A lone caller's commit: the waiting go as soon as it is answered, not at the end of the turn.
    await release();
    expect(commits).toEqual([['a'], ['b', 'c']]);
    await release();
    expect(await Promise.all([a, b, c])).toEqual([[job('a')], [job('b')], [job('c')]]);
  });

  it("'idle': the callers of a shared commit who come back within its turn go together", async () => {
    const { group, commits, release } = gathering('idle');
    void group.add([job('a')]);
    const shared = [group.add([job('b')]), group.add([job('c')])];
    await release();
    const again = shared.map((p, i) => p.then(() => group.add([job(`${'bc'[i]}2`)])));
    await release();
    await Promise.all(shared);
    expect(commits).toEqual([['a'], ['b', 'c']]);
    await turn();
    expect(commits).toEqual([['a'], ['b', 'c'], ['b2', 'c2']]);
    await release();
    await Promise.all(again);
  });

  it('close commits those waiting, then refuses', async () => {
    const { group, commits, release } = gathering('idle');
    const a = group.add([job('a')]);
    const b = group.add([job('b')]);
    const closed = group.close();
    await release();
    await turn();
    await release();
    await closed;
    expect(commits).toEqual([['a'], ['b']]);
    await Promise.all([a, b]);
    await expect(group.add([job('c')])).rejects.toThrow('closed');
  });
});
