import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigInvalidError } from '../errors.ts';
import { closestName } from './closest-name.ts';
import { connectorLabel } from './explain-errors.ts';

// Steps 1 and 2 of loading the configuration: read the YAML file named by ORCHARD_CONFIG, then replace
// every `${NAME}` in its strings by the environment variable NAME.

/** A `${NAME}` reference to an environment variable in a string of the file. */
export const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The file's mapping of settings; {} without a file. What is wrong is added to `problems`. */
export function readConfigFile(configFile: string | undefined, problems: string[]): Record<string, unknown> {
  if (!configFile) return {};
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch (err) {
    problems.push(`ORCHARD_CONFIG: cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return {};
  }
  problems.push(...malformedReferences(text, configFile));
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    problems.push(`ORCHARD_CONFIG: ${configFile} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`ORCHARD_CONFIG: ${configFile} must hold a YAML mapping of settings`);
    return {};
  }
  return doc as Record<string, unknown>;
}

/** `${` that does not open a complete `${NAME}` reference. */
const brokenReference = /\$\{(?![A-Za-z_][A-Za-z0-9_]*\})/g;

/**
 * Every `${` in the file that is not a complete `${NAME}` (`${ACME_KEY` without its brace, `${1X}`,
 * `${}`), by line: such a value would otherwise reach a vendor as a literal, the secret it was meant
 * to name never read. Comments (from a # that starts the line or follows a space) are not looked at.
 */
export function malformedReferences(text: string, configFile: string): string[] {
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const comment = line.search(/(^|\s)#/);
    const content = comment === -1 ? line : line.slice(0, comment);
    for (const match of content.matchAll(brokenReference)) {
      const shown = content.slice(match.index).match(/^\$\{[^}\s'"]*\}?/)![0];
      problems.push(`ORCHARD_CONFIG: ${configFile} line ${i + 1}: "${shown}" is not a complete reference to an environment variable: write \${NAME} (letters, digits and _, not starting with a digit, closed by })`);
    }
  });
  return problems;
}

/**
 * The document with that connector as its only entry, so that the other entries' settings (and the
 * variables they refer to) do not matter (`orchard test`, `orchard checkpoint`); a name no entry has
 * throws ConfigInvalidError naming the configured ones.
 */
export function onlyTheConnector(doc: Record<string, unknown>, only: string, env: NodeJS.ProcessEnv, configFile: string | undefined): { doc: Record<string, unknown>; fileIndex: number } {
  const entries = doc.connectors;
  if (!Array.isArray(entries)) return { doc, fileIndex: 0 };
  const nameOf = (entry: unknown) => {
    const name = (entry as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? name.replace(envReference, (_m, v: string) => env[v] ?? '') : undefined;
  };
  const names = entries.map(nameOf).filter((n): n is string => n !== undefined && n !== '');
  const index = entries.findIndex((entry) => nameOf(entry) === only);
  if (index === -1) {
    const near = closestName(only, names);
    throw new ConfigInvalidError([
      `No connector named "${only}" in ${configFile ?? 'the configuration'}.${names.length > 0 ? ` Configured: ${names.join(', ')}.` : ' It has no connectors.'}${near ? ` Did you mean ${near}?` : ''}`,
    ]);
  }
  return { doc: { ...doc, connectors: [entries[index]] }, fileIndex: index };
}

/** The names of the variables the document's strings refer to as `${NAME}`. */
export function referencedVariables(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(envReference)) found.add(m[1]!);
  else if (Array.isArray(value)) for (const v of value) referencedVariables(v, found);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) referencedVariables(v, found);
  return found;
}

/** What interpolation found: problems, and the JSON pointers of values that referred to unset variables. */
export interface Interpolation {
  readonly value: Record<string, unknown>;
  /** Pointers of the values that held an unset reference: their validation errors would say it twice. */
  readonly unset: ReadonlySet<string>;
}

/** Replaces `${NAME}` in every string of the document; a reference to an unset variable is a problem. */
export function interpolateEnv(doc: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): Interpolation {
  const unset = new Set<string>();
  const value = substitute(doc, env, '', problems, unset, '') as Record<string, unknown>;
  return { value, unset };
}

function substitute(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[], unset: Set<string>, pointer: string): unknown {
  if (typeof value === 'string') {
    return value.replace(envReference, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${path}: refers to \${${name}}, but the environment variable ${name} is not set (nor ${name}_FILE)`);
        unset.add(pointer);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) {
    // Connector entries are named by their index and name, as everywhere else.
    const label = (i: number, v: unknown) => (pointer === '/connectors' ? connectorLabel(i, v) : `${path}[${i}]`);
    return value.map((v, i) => substitute(v, env, label(i, v), problems, unset, `${pointer}/${i}`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, path ? `${path}.${k}` : k, problems, unset, `${pointer}/${k}`)]));
  }
  return value;
}
