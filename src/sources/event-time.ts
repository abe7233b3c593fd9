// RFC 3339 event times, as JumpCloud and Jamf Protect (AWSDateTime) write them. JumpCloud writes
// anywhere from 0 to 9 fraction digits ("2025-06-18T01:40:47.663248444Z"). A peer parsed the fractions as zero; here they are kept to the
// millisecond for `time` and compared as milliseconds for windows (the `search_after` key JumpCloud
// sends back is in milliseconds too).

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,12}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Epoch milliseconds of an RFC 3339 time (fraction truncated to the millisecond; no zone means UTC), or undefined. */
export function parseEventTimeMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = rfc3339.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone = 'Z'] = m;
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms) - offsetMinutes * 60_000;
  // Date.UTC rolls 2026-02-30 over into March: a time that does not exist is not a time.
  const check = new Date(utc + offsetMinutes * 60_000);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  return utc;
}
