import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import standaloneModule from 'ajv/dist/standalone/index.js';
import type { ConfigSchema } from '../config/config-schema.ts';
import { configSchemaFor } from '../config/load-config.ts';
import { builtValidatorFile, schemaHash } from '../config/precompiled-validator.ts';
import { createAjv } from '../schema/ajv.ts';
import { sourceDescriptors } from '../sources/index.ts';

// A step of `npm run build` (after tsc, before the bundle): the configuration's validator, compiled
// once here rather than at every start (src/config/precompiled-validator.ts says how it is used).

// ajv's standalone module is CommonJS; under NodeNext its default export is the module object.
const standaloneCode = (standaloneModule as unknown as { default: typeof standaloneModule.default }).default;

/** Writes the standalone validator of `schema` to `file` (CommonJS), with the schema's hash. */
export function writeConfigValidator(schema: ConfigSchema, file: string): void {
  const ajv = createAjv({ useDefaults: true, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  writeFileSync(file, `${code}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(schema))};\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeConfigValidator(configSchemaFor(sourceDescriptors), builtValidatorFile);
}
