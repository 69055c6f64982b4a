/** Serialises async work per key (per fragment id) inside one process. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      // Only the last waiter removes the entry, so the map never grows past the ids in flight.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
