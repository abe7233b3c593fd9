import { sha256 } from '../sha256.ts';

/**
 * The events in the local spool, by source and id, so that a repeat of one still spooled is answered
 * as a duplicate instead of being spooled twice (Redis's dedup key cannot say so until it is drained).
 * Rebuilt from the spool at start; an id leaves once Redis has it. Each entry is 16 bytes of the
 * sha256 of source and id (about 70 bytes of memory with the map's own), whatever the id's length:
 * a spool full of short log lines (a few million events per GiB) stays within a few hundred MB.
 */
export class SpooledIds {
  /** Key → the sync of the record that carries it, until that sync is done. */
  readonly #ids = new Map<string, Promise<void> | undefined>();

  static key(source: string, id: string): string {
    return sha256(`${source}\n${id}`, 'binary').slice(0, 16);
  }

  get size(): number {
    return this.#ids.size;
  }

  has(key: string): boolean {
    return this.#ids.has(key);
  }

  /** Resolves once the spooled copy of `key` is on disk; rejects when its write failed. */
  async durable(key: string): Promise<void> {
    await this.#ids.get(key);
  }

  /** Adds ids whose record is being written: `written` settles with its sync (the ids go again when it fails). */
  add(keys: readonly string[], written?: Promise<void>): void {
    for (const key of keys) this.#ids.set(key, written);
    written?.then(
      () => {
        for (const key of keys) if (this.#ids.get(key) === written) this.#ids.set(key, undefined);
      },
      () => {
        for (const key of keys) if (this.#ids.get(key) === written) this.#ids.delete(key);
      },
    );
  }

  delete(keys: readonly string[]): void {
    for (const key of keys) this.#ids.delete(key);
  }
}
