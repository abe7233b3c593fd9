import { VendorLoopError } from '../errors.ts';
import type { Page } from './pull-source.ts';

// A vendor that pages forever is a known trap: Jamf's own Protect SDK met an API that answered the
// same `next` token again and again (Jamf-Concepts/jamfprotect-go-sdk, commits 79ab6be and 4c31082:
// "the audit log API returns the same next cursor repeatedly"), and JumpCloud's Directory Insights
// sends an X-Search_after header even on its last page (its spec, "HTTP Response Header Metadata").
// One guard per run, for every source: a next-page token the run already had, or a page whose items
// are those of the page before, stops the run with VendorLoopError before that page is written (the
// checkpoint keeps the last good page; the connector is parked with a diagnosis, never spinning).

export class PageLoopGuard {
  readonly #connector: string;
  readonly #tokens = new Set<string>();
  #fingerprint: string | undefined;
  #pages = 0;

  constructor(connector: string) {
    this.#connector = connector;
  }

  /** Throws VendorLoopError when `page` repeats a token or the page before; else remembers it. */
  check(page: Page<unknown>): void {
    this.#pages += 1;
    if (page.fingerprint !== undefined && page.fingerprint === this.#fingerprint) throw new VendorLoopError(this.#connector, 'page', this.#pages);
    this.#fingerprint = page.fingerprint;
    if (!page.more || page.next === undefined) return;
    if (this.#tokens.has(page.next)) throw new VendorLoopError(this.#connector, 'cursor', this.#pages);
    this.#tokens.add(page.next);
  }
}
