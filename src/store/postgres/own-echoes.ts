/** How long an unpaired wake is remembered: an echo comes within milliseconds, or its connection was lost. */
const FORGET_MS = 5000;

interface Balance {
  /** Inserts returned less notifications heard: above 0, echoes still due; below 0, returns still due. */
  n: number;
  /** This store's inserts of this runAt under way. */
  sending: number;
  at: number;
}

/**
 * Pairs this store's own enqueues with their echoes. A job inserted through
 * the store's pool is told to this process's subscribers twice: when the
 * insert returns (its commit done) and when its NOTIFY comes back on the
 * listening connection, in either order. The second is the same news, and a
 * worker woken twice leases twice. So the first of the two wakes and the
 * second is passed over, paired by payload (the earliest runAt, in ms).
 *
 * A pairing by payload can take another job's notification with the same
 * runAt for the echo, and it does not matter: a wake is passed over only
 * against one that came earlier, and notifications come in commit order,
 * so the earlier wake came after that job's commit too. (Per payload, the
 * count moves one step per event, and a step that takes it away from zero
 * always wakes: an insert whose return and echo were both passed over
 * would need a waking step between them.) Only what can be paired counts:
 * returns of plain inserts on the pool (one statement, one NOTIFY),
 * notifications while such an insert is under way, and integer runAts,
 * which the trigger's payload gives back exactly.
 */
export class OwnEchoes {
  private readonly balances = new Map<number, Balance>();
  private sweptAt = 0;

  /** An insert of jobs due from `runAt` is sent; false when its echo cannot be paired. */
  sending(runAt: number): boolean {
    if (!Number.isInteger(runAt)) return false;
    const balance = this.balance(runAt);
    balance.sending++;
    return true;
  }

  /** The insert sent for `runAt` committed and returned: true when this process's workers must be woken. */
  returned(runAt: number): boolean {
    const balance = this.balance(runAt);
    balance.sending = Math.max(0, balance.sending - 1);
    const wake = balance.n >= 0;
    balance.n++;
    this.settle(runAt, balance);
    return wake;
  }

  /** The insert sent for `runAt` failed: it has no echo to pair, or none that matters. */
  failed(runAt: number): void {
    const balance = this.balances.get(runAt);
    if (!balance) return;
    balance.sending = Math.max(0, balance.sending - 1);
    this.settle(runAt, balance);
  }

  /** A notification of jobs due from `runAt` came: true when this process's workers must be woken. */
  heard(runAt: number): boolean {
    const balance = this.balances.get(runAt);
    if (!balance || (balance.n <= 0 && balance.sending === 0)) return true;
    const wake = balance.n <= 0;
    balance.n--;
    this.settle(runAt, balance);
    return wake;
  }

  /** Notifications may have been lost (the listening connection dropped): pair nothing from before. */
  clear(): void {
    this.balances.clear();
  }

  private balance(runAt: number): Balance {
    const now = Date.now();
    let balance = this.balances.get(runAt);
    if (!balance) {
      // Forgetting a pairing only wakes once more than needed; it keeps the map small. Swept now
      // and then, not at every new runAt: one-by-one enqueues each bring a new one.
      if (now - this.sweptAt > FORGET_MS) {
        this.sweptAt = now;
        for (const [key, old] of this.balances) if (now - old.at > FORGET_MS) this.balances.delete(key);
      }
      balance = { n: 0, sending: 0, at: now };
      this.balances.set(runAt, balance);
    }
    balance.at = now;
    return balance;
  }

  private settle(runAt: number, balance: Balance): void {
    if (balance.n === 0 && balance.sending === 0) this.balances.delete(runAt);
  }
}
