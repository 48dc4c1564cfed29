import type { Store } from '../store/contract.js';

interface Holding {
  holders: number;
  opening: Promise<void>;
}

const held = new WeakMap<Store, Holding>();

/**
 * Opens a store for one more dispatcher. Several dispatchers may share a
 * store (a producer and a worker in one process); it opens once and closes
 * when the last of them lets go.
 */
export function holdStore(store: Store): Promise<void> {
  let holding = held.get(store);
  if (!holding) {
    holding = { holders: 0, opening: store.open() };
    held.set(store, holding);
    holding.opening.catch(() => held.delete(store));
  }
  holding.holders++;
  return holding.opening;
}

export async function releaseStore(store: Store): Promise<void> {
  const holding = held.get(store);
  if (!holding) return;
  if (--holding.holders > 0) return;
  held.delete(store);
  await holding.opening.then(
    () => store.close(),
    () => undefined,
  );
}
