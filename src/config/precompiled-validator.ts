import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { packageRoot } from '../package-root.ts';
import { createAjv } from '../schema/ajv.ts';
import type { ConfigSchema } from './config-schema.ts';

// Compiling the configuration's schema took a quarter of every command's start (0.25 CPU-s of
// about 0.9 for `serve`). `npm run build` writes the validator ajv compiles as code (ajv's standalone
// output, https://ajv.js.org/standalone.html) to dist/config-validator.cjs, with a hash of the schema
// it was made from (src/cli/build-config-validator.ts). A start uses it only when that hash is the
// schema's this code builds, and compiles the schema otherwise: under tsx, or in a checkout whose
// build is older than its sources.

/** Where `npm run build` writes the precompiled validator. */
export const builtValidatorFile = fileURLToPath(new URL('dist/config-validator.cjs', packageRoot));

export function schemaHash(schema: ConfigSchema): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/** The validator of `schema` with defaults applied: the precompiled one made from it, else compiled now. */
export function configValidator(schema: ConfigSchema, file = builtValidatorFile): ValidateFunction {
  return precompiledValidator(schema, file) ?? createAjv({ useDefaults: true }).compile(schema);
}

/** The validator in `file`, if it exists and was made from `schema`. */
export function precompiledValidator(schema: ConfigSchema, file: string): ValidateFunction | undefined {
  if (!existsSync(file)) return undefined;
  const built = createRequire(import.meta.url)(file) as ValidateFunction & { schemaHash?: string };
  return built.schemaHash === schemaHash(schema) ? built : undefined;
}
