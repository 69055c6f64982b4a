/**
 * Failed-login slow-down shared by WebDAV, SFTP and FTP: after a few failures from one client
 * address (or against one access key) every further attempt waits longer before it is answered,
 * doubling per failure up to a cap. A success clears the client's record. Waiting happens before
 * the verdict is sent, so a password guesser gets one answer per delay whatever protocol it uses.
 *
 * Records are kept in a bounded map and forgotten after `forgetAfterMs` without failures, so an
 * address flood cannot grow memory without limit.
 */
export interface LoginThrottleInit {
  /** failures allowed before any delay (default 3) */
  freeAttempts?: number;
  /** delay after the first counted failure, doubled per further failure (default 250 ms) */
  baseDelayMs?: number;
  /** upper bound of one delay (default 8 s) */
  maxDelayMs?: number;
  /** a record with no failure for this long is dropped (default 15 min) */
  forgetAfterMs?: number;
  /** most records kept (default 10,000; the oldest are dropped first) */
  maxEntries?: number;
}

interface FailureRecord {
  failures: number;
  lastFailure: number;
}

export class LoginThrottle {
  readonly #free: number;
  readonly #base: number;
  readonly #max: number;
  readonly #forget: number;
  readonly #maxEntries: number;
  readonly #records = new Map<string, FailureRecord>();
  readonly #waits = new Map<NodeJS.Timeout, () => void>();

  constructor(init: LoginThrottleInit = {}) {
    this.#free = init.freeAttempts ?? 3;
    this.#base = init.baseDelayMs ?? 250;
    this.#max = init.maxDelayMs ?? 8000;
    this.#forget = init.forgetAfterMs ?? 15 * 60_000;
    this.#maxEntries = init.maxEntries ?? 10_000;
  }

  /** The delay the next attempt from these identities must wait (the largest over them). */
  delayFor(...ids: string[]): number {
    const now = Date.now();
    let failures = 0;
    for (const id of ids) {
      const r = this.#records.get(id);
      if (!r) continue;
      if (now - r.lastFailure > this.#forget) {
        this.#records.delete(id);
        continue;
      }
      failures = Math.max(failures, r.failures);
    }
    if (failures < this.#free) return 0;
    return Math.min(this.#max, this.#base * 2 ** (failures - this.#free));
  }

  /**
   * Runs one login attempt from `client` (e.g. `ip:1.2.3.4`) for `account` (e.g. `key:AK…`):
   * waits the client's current delay, runs `check`, and on failure also waits the account's delay
   * before answering, so a guesser spreading over many addresses is still slowed per account while
   * the account's owner, logging in correctly from elsewhere, is not. `check` returning undefined
   * or throwing counts as a failure; a success clears the client's record.
   */
  async attempt<T>(client: string, account: string, check: () => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    const delay = this.delayFor(client);
    if (delay > 0) await this.#sleep(delay);
    let result: T | undefined;
    try {
      result = await check();
    } catch (err) {
      this.fail(client, account);
      throw err;
    }
    if (result !== undefined) {
      this.succeed(client);
      return result;
    }
    const accountDelay = this.delayFor(account);
    this.fail(client, account);
    if (accountDelay > 0) await this.#sleep(accountDelay);
    return undefined;
  }

  fail(...ids: string[]): void {
    const now = Date.now();
    for (const id of ids) {
      const r = this.#records.get(id);
      this.#records.delete(id); // re-insert so Map order is least-recently-failed first
      this.#records.set(id, { failures: (r?.failures ?? 0) + 1, lastFailure: now });
    }
    while (this.#records.size > this.#maxEntries) {
      const oldest = this.#records.keys().next().value;
      if (oldest === undefined) break;
      this.#records.delete(oldest);
    }
  }

  /** Clears the client's record (not the account's: a success from one address must not clear
   *  the failures counted against the access key from elsewhere). */
  succeed(client: string): void {
    this.#records.delete(client);
  }

  failures(id: string): number {
    return this.#records.get(id)?.failures ?? 0;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#waits.delete(t);
        resolve();
      }, ms);
      this.#waits.set(t, resolve);
    });
  }

  /** Releases pending waits (they resolve at once) so a server can close without lingering timers. */
  close(): void {
    for (const [t, resolve] of this.#waits) {
      clearTimeout(t);
      resolve();
    }
    this.#waits.clear();
  }
}
