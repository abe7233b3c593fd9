import { sha256 } from '../sha256.ts';

/**
 * The events in the local spool, by source and id, so that a repeat of one still spooled is answered
 * as a duplicate instead of being spooled twice (Redis's dedup key cannot say so until it is drained).
 * Rebuilt from the spool at start; an id leaves once Redis has it. Each is kept as 12 bytes of the
 * sha256 of source and id (a collision among millions is about 2^-48 likely), whatever the id's
 * length: about 65 bytes of memory an event with the set's own.
 */
export class SpooledIds {
  readonly #ids = new Set<string>();
  /** Ids whose record is still being written: the sync they wait for. */
  readonly #writing = new Map<string, Promise<void>>();

  /** 12 characters, one per byte: a string that short is copied out of the digest, not a slice that keeps all of it. */
  static key(source: string, id: string): string {
    return sha256(`${source}\n${id}`, 'binary').slice(0, 12);
  }

  get size(): number {
    return this.#ids.size;
  }

  has(key: string): boolean {
    return this.#ids.has(key);
  }

  /** Resolves once the spooled copy of `key` is on disk; rejects when its write failed. */
  async durable(key: string): Promise<void> {
    await this.#writing.get(key);
  }

  /** Adds ids whose record is being written: `written` settles with its sync (the ids go again when it fails). */
  add(keys: readonly string[], written?: Promise<void>): void {
    for (const key of keys) this.#ids.add(key);
    if (!written) return;
    for (const key of keys) this.#writing.set(key, written);
    const settled = (ok: boolean) => {
      for (const key of keys) {
        if (this.#writing.get(key) !== written) continue;
        this.#writing.delete(key);
        if (!ok) this.#ids.delete(key);
      }
    };
    written.then(
      () => settled(true),
      () => settled(false),
    );
  }

  delete(keys: readonly string[]): void {
    for (const key of keys) this.#ids.delete(key);
  }
}
