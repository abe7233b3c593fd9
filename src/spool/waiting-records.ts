import type { CursorPosition } from './spool-cursor.ts';

/**
 * The spool records not yet drained, oldest first: where each ends, when it was spooled and how many
 * events it carries (a batch is one record of many events). Four numbers a record, in parallel arrays
 * consumed from a moving head, so the count, the events and the oldest age cost nothing to read.
 */
export class WaitingRecords {
  #seqs: number[] = [];
  #ends: number[] = [];
  #times: number[] = [];
  #counts: number[] = [];
  #head = 0;
  #events = 0;

  push(seq: number, end: number, spooledAtMs: number, events: number): void {
    this.#seqs.push(seq);
    this.#ends.push(end);
    this.#times.push(spooledAtMs);
    this.#counts.push(events);
    this.#events += events;
  }

  /** Forgets the records that end at or before `cursor` (drained, or moved aside); returns how many events they carried. */
  dropBefore(cursor: CursorPosition): number {
    let dropped = 0;
    while (this.#head < this.#seqs.length) {
      const seq = this.#seqs[this.#head]!;
      if (seq > cursor.seq || (seq === cursor.seq && this.#ends[this.#head]! > cursor.offset)) break;
      dropped += this.#counts[this.#head]!;
      this.#head++;
    }
    this.#events -= dropped;
    if (this.#head > 4096 && this.#head * 2 > this.#seqs.length) {
      for (const list of [this.#seqs, this.#ends, this.#times, this.#counts]) list.splice(0, this.#head);
      this.#head = 0;
    }
    return dropped;
  }

  /** Spool records waiting. */
  get length(): number {
    return this.#seqs.length - this.#head;
  }

  /** Events they carry. */
  get events(): number {
    return this.#events;
  }

  /** When the oldest was spooled (ms since the epoch); undefined when none waits. */
  get oldestSpooledAtMs(): number | undefined {
    return this.length === 0 ? undefined : this.#times[this.#head];
  }
}
