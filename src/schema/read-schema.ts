import { readFileSync, readdirSync } from 'node:fs';
import { packageRoot } from '../package-root.ts';

/** The repository's `schemas/` folder: JSON Schemas are data, shipped beside the code. */
export const schemasDir = new URL('schemas/', packageRoot);

export function readSchema(relativePath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(relativePath, schemasDir), 'utf8')) as Record<string, unknown>;
}

/** Every `*.json` schema in a folder of `schemas/`, by file name without the extension. */
export function readSchemaFolder(folder: string): Map<string, Record<string, unknown>> {
  const dir = new URL(`${folder}/`, schemasDir);
  const out = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    out.set(file.slice(0, -'.json'.length), readSchema(`${folder}/${file}`));
  }
  return out;
}
