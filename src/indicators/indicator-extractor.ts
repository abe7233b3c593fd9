import { isIP } from 'node:net';

// Indicators, Panther style: values of fields a schema annotates with `x-indicator: <kind>`, validated,
// normalised and deduplicated. The schema is compiled once into a list of paths, so extraction per
// event is a handful of property reads.

export const indicatorKinds = ['ip', 'username', 'email', 'mac', 'sha1', 'sha256', 'hostname', 'serial', 'actor_id', 'trace_id'] as const;
export type IndicatorKind = (typeof indicatorKinds)[number];
export type Indicators = Partial<Record<IndicatorKind, string[]>>;

/** `*` stands for every element of an array (or for the value itself when it is not an array). */
type Path = readonly string[];
interface IndicatorPath {
  readonly path: Path;
  readonly kind: IndicatorKind;
}

type Schema = { [key: string]: unknown };

const kindIndex = Object.fromEntries(indicatorKinds.map((kind, i) => [kind, i])) as Record<IndicatorKind, number>;

const maxDepth = 12;

function collect(schema: Schema, path: string[], out: IndicatorPath[], depth: number): void {
  if (depth > maxDepth) return;
  const kind = schema['x-indicator'];
  if (typeof kind === 'string') {
    if (!(indicatorKinds as readonly string[]).includes(kind)) throw new Error(`Unknown x-indicator "${kind}" at ${path.join('.')}`);
    out.push({ path: [...path], kind: kind as IndicatorKind });
  }
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (properties) for (const [key, sub] of Object.entries(properties)) collect(sub, [...path, key], out, depth + 1);
  const items = schema.items as Schema | undefined;
  if (items && typeof items === 'object' && !Array.isArray(items)) collect(items, [...path, '*'], out, depth + 1);
  for (const keyword of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[keyword] as Schema[] | undefined;
    if (Array.isArray(list)) for (const sub of list) collect(sub, path, out, depth + 1);
  }
}

const macPattern = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const hexPattern = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);
const sha1Pattern = hexPattern(40);
const sha256Pattern = hexPattern(64);
const maxValueLength = 512;

/** Returns the normalised value, or undefined when the value is not a valid indicator of that kind. */
export function normaliseIndicator(kind: IndicatorKind, raw: unknown): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const value = String(raw).trim();
  if (value === '' || value.length > maxValueLength) return undefined;
  switch (kind) {
    case 'ip': {
      const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
      const version = isIP(bare);
      return version === 0 ? undefined : version === 6 ? bare.toLowerCase() : bare;
    }
    case 'mac': {
      const lower = value.toLowerCase();
      return macPattern.test(lower) ? lower.replaceAll('-', ':') : undefined;
    }
    case 'email':
      return emailPattern.test(value) ? value.toLowerCase() : undefined;
    case 'sha1':
      return sha1Pattern.test(value.toLowerCase()) ? value.toLowerCase() : undefined;
    case 'sha256':
      return sha256Pattern.test(value.toLowerCase()) ? value.toLowerCase() : undefined;
    default:
      return value;
  }
}

/** Values found per kind, by the kind's index in indicatorKinds; a list is made when its first value is found. */
type Found = (string[] | undefined)[];

function addValue(kind: IndicatorKind, raw: unknown, found: Found): void {
  const value = normaliseIndicator(kind, raw);
  if (value === undefined) return;
  const k = kindIndex[kind];
  const list = found[k];
  if (list === undefined) found[k] = [value];
  else if (!list.includes(value)) list.push(value);
}

/** Adds the valid, normalised values of `leaf` (one value or a list of values), once each. */
function addLeaf(kind: IndicatorKind, leaf: unknown, found: Found): void {
  if (Array.isArray(leaf)) for (const item of leaf) addValue(kind, item, found);
  else addValue(kind, leaf, found);
}

/** Follows `path` from `value`, adding what it reaches. */
function walk(value: unknown, path: Path, index: number, kind: IndicatorKind, found: Found): void {
  for (; index < path.length; index++) {
    if (value === null || typeof value !== 'object') return;
    const key = path[index]!;
    if (key === '*') {
      // A list, or a single item where a list was expected (vendors collapse one-element lists).
      if (Array.isArray(value)) {
        for (const item of value) walk(item, path, index + 1, kind, found);
        return;
      }
      continue;
    }
    if (Array.isArray(value)) return;
    value = (value as Record<string, unknown>)[key];
  }
  if (value !== undefined && value !== null) addLeaf(kind, value, found);
}

export class IndicatorExtractor {
  readonly paths: readonly IndicatorPath[];

  constructor(schema: Schema) {
    const out: IndicatorPath[] = [];
    collect(schema, [], out, 0);
    this.paths = out;
  }

  extract(document: unknown): Indicators {
    const found: Found = [];
    for (const { path, kind } of this.paths) walk(document, path, 0, kind, found);
    // Keys in indicatorKinds order.
    const out: Indicators = {};
    for (let k = 0; k < indicatorKinds.length; k++) if (found[k] !== undefined) out[indicatorKinds[k]!] = found[k];
    return out;
  }
}
