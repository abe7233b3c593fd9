import type { ImportIo } from './import-options.ts';

// What `orchard import` shows while it works: a bar on a terminal, else a line now and then.

export function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A progress bar on a terminal (5 updates a second at most), else one line every 5 s at most. */
export class Progress {
  #last = 0;
  #shown = false;
  readonly #intervalMs: number;

  constructor(
    private readonly io: ImportIo,
    private readonly tty: boolean,
  ) {
    this.#intervalMs = tty ? 200 : 5000;
  }

  /** Resets the throttle so that the next update of a new phase is shown after one interval. */
  begin(): void {
    this.#last = Date.now();
  }

  update(render: (tty: boolean) => string, force = false): void {
    const now = Date.now();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    if (this.tty) {
      this.io.err(`\r${render(true)}\x1b[K`);
      this.#shown = true;
    } else {
      this.io.err(`${render(false)}\n`);
    }
  }

  /** Removes the bar, so that what follows starts on a clean line. */
  clear(): void {
    if (this.tty && this.#shown) this.io.err('\r\x1b[K');
    this.#shown = false;
  }
}

export function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function percent(done: number, total: number): string {
  return total <= 0 ? '100%' : `${Math.min(100, Math.floor((done * 100) / total))}%`;
}

