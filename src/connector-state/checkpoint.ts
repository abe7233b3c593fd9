// A pull connector's checkpoint: what it stores with each page (page-scripts.ts) and what a reset
// writes (connector-state-store.ts).

import { randomBytes } from 'node:crypto';
import type { ConnectorConfig } from '../config/load-config.ts';

/** A connector's checkpoint as stored (JSON in the checkpoint hash's `data` field). */
export interface Checkpoint<C = unknown> {
  readonly v: 1;
  readonly type: string;
  /** The config's `start` this checkpoint was made under: a different `start` resets it. */
  readonly start: string | null;
  /** Records older than this are not appended (`start`, or `checkpoint reset --since`). */
  readonly since: string | null;
  /** Where the next page starts; null: from the beginning. */
  readonly cursor: C | null;
  /** A run is under way: its remaining pages are fetched at once, even after a restart. */
  readonly runOpen: boolean;
  readonly runStartedAt: string | null;
  readonly lastRunEndedAt: string | null;
  /** Pages written since the checkpoint was created. */
  readonly pages: number;
  readonly updatedAt: string;
}

/** A tally's counts since the checkpoint was created: the pages that named it (a pull source's `Page.tally`). */
export interface Tally {
  readonly pages: number;
  readonly received: number;
  readonly appended: number;
  readonly duplicates: number;
}

export interface StoredCheckpoint<C = unknown> {
  /** Incremented by every write; a page names the one it was computed from. */
  readonly seq: number;
  readonly checkpoint: Checkpoint<C> | undefined;
  /** Versions remembered (inventories: computers). */
  readonly versions: number;
  /** The counts of each tally the pages named (`Page.tally`: one per organization of an MSP connector). */
  readonly tallies: Readonly<Record<string, Tally>>;
}

export function emptyCheckpoint<C>(config: Pick<ConnectorConfig, 'type' | 'start'>, since: string | null = config.start ?? null): Checkpoint<C> {
  return {
    v: 1,
    type: config.type,
    start: config.start ?? null,
    since,
    cursor: null,
    runOpen: false,
    runStartedAt: null,
    lastRunEndedAt: null,
    pages: 0,
    updatedAt: new Date().toISOString(),
  };
}

/** Unique id of one checkpoint write. */
export function writerId(): string {
  return randomBytes(12).toString('base64url');
}
