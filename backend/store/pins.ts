/**
 * In-memory guards between puts and garbage collection inside one gateway process.
 *
 * - A put pins every chunk it is about to reference (before it looks the chunk up in the index)
 *   and the fragment ids it is about to write; collectGarbage skips pinned chunks and fragments.
 * - Collection marks the fragment ids it is deleting; a put that needs to (re)write one of them
 *   waits until the delete is done, so a delete can never land after a put's idempotent write.
 * Checks and marks happen synchronously with the index reads they guard (one event-loop turn), so
 * there is no window between "GC decided" and "put looked".
 */
export class Pins {
  readonly #chunks = new Map<string, number>();
  readonly #fragments = new Map<string, number>();
  readonly #deleting = new Map<string, Promise<void>>();

  pinChunk(key: string): void {
    this.#chunks.set(key, (this.#chunks.get(key) ?? 0) + 1);
  }

  unpinChunk(key: string): void {
    const n = (this.#chunks.get(key) ?? 0) - 1;
    if (n > 0) this.#chunks.set(key, n);
    else this.#chunks.delete(key);
  }

  chunkPinned(key: string): boolean {
    return this.#chunks.has(key);
  }

  pinFragments(ids: Iterable<string>): void {
    for (const id of ids) this.#fragments.set(id, (this.#fragments.get(id) ?? 0) + 1);
  }

  unpinFragments(ids: Iterable<string>): void {
    for (const id of ids) {
      const n = (this.#fragments.get(id) ?? 0) - 1;
      if (n > 0) this.#fragments.set(id, n);
      else this.#fragments.delete(id);
    }
  }

  fragmentPinned(id: string): boolean {
    return this.#fragments.has(id);
  }

  /** Marks `id` as being deleted until `done` settles. */
  deleting(id: string, done: Promise<unknown>): void {
    const p = done.then(
      () => undefined,
      () => undefined,
    );
    this.#deleting.set(id, p);
    void p.then(() => {
      if (this.#deleting.get(id) === p) this.#deleting.delete(id);
    });
  }

  isDeleting(id: string): boolean {
    return this.#deleting.has(id);
  }

  /** Resolves once no delete of `id` is in progress. */
  async settled(id: string): Promise<void> {
    let p: Promise<void> | undefined;
    while ((p = this.#deleting.get(id))) await p;
  }
}
