// RFC 3339 event times, as JumpCloud and Jamf Protect (AWSDateTime) write them. JumpCloud writes
// anywhere from 0 to 9 fraction digits ("2025-06-18T01:40:47.663248444Z"). A peer parsed the fractions as zero; here they are kept to the
// millisecond for `time` and compared as milliseconds for windows (the `search_after` key JumpCloud
// sends back is in milliseconds too).

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,12}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const DIGIT_0 = 0x30;

/** The value of two ASCII digits at i, or NaN. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - DIGIT_0;
  const b = text.charCodeAt(i + 1) - DIGIT_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN;
}

/** The last day seen ("2026-11-20") and its midnight, UTC: events of one page mostly share a day. */
let lastDay = '';
let lastDayMs = 0;

/**
 * The commonest shape, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read without the regular expression; undefined
 * for anything else (the general parser then decides). A day is checked once, by the general parser.
 */
function parseUtcFast(value: string): number | undefined {
  const n = value.length;
  if (n < 20 || value.charCodeAt(n - 1) !== 0x5a /* Z */ || value.charCodeAt(10) !== 0x54 /* T */) return undefined;
  if (value.charCodeAt(13) !== 0x3a || value.charCodeAt(16) !== 0x3a) return undefined;
  let fraction = 0;
  if (n > 20) {
    // 1 to 12 digits; the first three are the milliseconds, the rest only need to be digits.
    if (value.charCodeAt(19) !== 0x2e /* . */ || n < 22 || n > 33) return undefined;
    for (let i = 20; i < n - 1; i++) {
      const d = value.charCodeAt(i) - DIGIT_0;
      if (d < 0 || d > 9) return undefined;
      if (i < 23) fraction += d * (i === 20 ? 100 : i === 21 ? 10 : 1);
    }
  }
  const h = twoDigits(value, 11);
  const mi = twoDigits(value, 14);
  const s = twoDigits(value, 17);
  if (!(h <= 23 && mi <= 59 && s <= 60)) return undefined;
  const day = value.slice(0, 10);
  if (day !== lastDay) {
    const ms = parseGeneral(`${day}T00:00:00Z`);
    if (ms === undefined) return undefined;
    lastDay = day;
    lastDayMs = ms;
  }
  return lastDayMs + h * 3_600_000 + mi * 60_000 + s * 1000 + fraction;
}

/** Epoch milliseconds of an RFC 3339 time (fraction truncated to the millisecond; no zone means UTC), or undefined. */
export function parseEventTimeMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  return parseUtcFast(value) ?? parseGeneral(value);
}

function parseGeneral(value: string): number | undefined {
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
