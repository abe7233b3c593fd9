// What a vendor's answer says about the end of the API path it answered: the `Deprecation` header
// (RFC 9745: a structured-field date, `@<unix seconds>`; earlier drafts sent `true` or an HTTP date)
// and the `Sunset` header (RFC 8594: an HTTP date), with the `Link` relations that name what to move
// to (`successor-version`, RFC 5829) or where it is explained (`deprecation`, `sunset`).
// Jamf Pro's sending of them is not documented (its OpenAPI schema marks deprecated operations with
// `x-deprecation-date` instead), so every form is read leniently, and a header that cannot be read
// still counts as a notice without a date.
import type { DeprecationSeen } from '../../connectors/deprecation-notices.ts';

/** What one answer's headers said: the shape the pull engine keeps (connectors/deprecation-notices.ts). */
export type DeprecationHeaders = DeprecationSeen;

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;

/** A header date in any form seen: `@<unix seconds>` (RFC 9745), an HTTP date (RFC 9110), or an ISO 8601 date. */
export function parseHeaderDate(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  const structured = /^@(-?\d{1,12})$/.exec(value);
  if (structured) return Number(structured[1]) * 1000;
  if (!/\d/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `<https://…>; rel="successor-version"` → the URL of that relation, from a Link header of one or more links. */
function linkWithRel(link: string | undefined, rels: readonly string[]): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const target = /^\s*<([^>]*)>/.exec(part)?.[1];
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(part)?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (target && rel.some((r) => rels.includes(r))) return target;
  }
  return undefined;
}

/** What the answer's headers say of the path's end, or undefined when they carry neither Deprecation nor Sunset. */
export function readDeprecationHeaders(headers: Headers): DeprecationHeaders | undefined {
  const deprecation = first(headers.deprecation);
  const sunset = first(headers.sunset);
  if (deprecation === undefined && sunset === undefined) return undefined;
  // A Deprecation of `false` (a draft allowed it) says the opposite.
  if (deprecation?.toLowerCase() === 'false' && sunset === undefined) return undefined;
  const link = Array.isArray(headers.link) ? headers.link.join(', ') : headers.link;
  const out: { -readonly [K in keyof DeprecationHeaders]: DeprecationHeaders[K] } = {};
  if (deprecation !== undefined) out.deprecation = deprecation.slice(0, 100);
  const deprecatedAtMs = parseHeaderDate(deprecation);
  if (deprecatedAtMs !== undefined) out.deprecatedAtMs = deprecatedAtMs;
  if (sunset !== undefined) out.sunset = sunset.slice(0, 100);
  const sunsetAtMs = parseHeaderDate(sunset);
  if (sunsetAtMs !== undefined) out.sunsetAtMs = sunsetAtMs;
  const successor = linkWithRel(link, ['successor-version']);
  if (successor !== undefined) out.successor = successor.slice(0, 500);
  const documentation = linkWithRel(link, ['deprecation', 'sunset']);
  if (documentation !== undefined) out.documentation = documentation.slice(0, 500);
  return out;
}
