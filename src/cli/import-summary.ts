// What `orchard import` counts of a file, and how it says it.

export interface FileSummary {
  readonly file: string;
  /** Lines (or JSON array elements) read in this run, skipped ones included. */
  lines: number;
  appended: number;
  /** Records already in the stream (their dedup key exists): not appended. */
  duplicates: number;
  rejected: number;
  readonly rejectedByCode: Map<string, number>;
  /** Lines refused as another kind than --type, by the kind they are. */
  readonly wrongType: Map<string, number>;
  /** What earlier runs committed of this file (the progress record before this run). */
  before: { appended: number; duplicates: number; rejected: number };
  /** Blank lines: ignored, neither appended nor rejected. */
  empty: number;
  /** Lines committed by an earlier run, read past without being imported again. */
  skipped: number;
  durationMs: number;
  /** Set when the file was complete before this run: when it was last updated. */
  alreadyImported?: string;
  interrupted?: boolean;
}

export function newSummary(file: string): FileSummary {
  return {
    file,
    lines: 0,
    appended: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByCode: new Map(),
    wrongType: new Map(),
    before: { appended: 0, duplicates: 0, rejected: 0 },
    empty: 0,
    skipped: 0,
    durationMs: 0,
  };
}

/** The whole file (earlier runs included) is in, and every line of it that was not blank was refused. */
export function allRefused(s: FileSummary): boolean {
  const b = s.before;
  return b.appended + s.appended === 0 && b.duplicates + s.duplicates === 0 && b.rejected + s.rejected > 0;
}

export function rate(count: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((count * 1000) / ms);
}

function describeRejected(byCode: Map<string, number>, total: number): string {
  if (total === 0) return '0 rejected';
  const codes = [...byCode.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}: ${n}`);
  return `${total} rejected (${codes.join(', ')})`;
}

export function describeSummary(s: FileSummary): string {
  const seconds = (s.durationMs / 1000).toFixed(s.durationMs < 10_000 ? 2 : 1);
  return (
    `${s.lines} lines: ${s.appended} appended, ${s.duplicates} already in the stream, ${describeRejected(s.rejectedByCode, s.rejected)}, ` +
    `${s.empty} empty, ${s.skipped} skipped (already imported); ${seconds} s, ${rate(s.lines - s.skipped, s.durationMs)} lines/s`
  );
}

/** What to do about the lines refused as another kind than --type (and about a file refused whole). */
export function describeAdvice(s: FileSummary, whole: boolean): string {
  const kinds = [...s.wrongType.entries()].sort(([a], [b]) => a.localeCompare(b));
  const lines = (n: number) => `${n} line${n === 1 ? '' : 's'}`;
  if (whole) {
    const rejected = s.before.rejected + s.rejected;
    let advice = `; nothing imported: every line was refused (${lines(rejected)}, kept in the rejected stream)`;
    if (kinds.length === 1) {
      const [kind, n] = kinds[0]!;
      advice += `; ${n === rejected ? 'they are' : `${lines(n)} of them are`} ${kind} lines: import the file again with --type ${kind}`;
    } else if (kinds.length > 1) {
      advice += `; ${kinds.map(([kind, n]) => `${lines(n)} ${kind}`).join(', ')}: import the file again with --type auto`;
    }
    return advice;
  }
  return kinds.map(([kind, n]) => `; ${lines(n)} refused as ${kind}: to add them, import the file again with --type ${kind}`).join('');
}

