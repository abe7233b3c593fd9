import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

/**
 * An ajv instance that knows Orchard's annotation keywords: `x-env` (config), `x-secret` (config) and
 * `x-indicator` (which indicator kind a field holds, Panther style).
 *
 * It compiles only Orchard's own schemas (schemas/, and the configuration's built from it), so it does
 * not check them against JSON Schema's meta-schema at every start: compiling the meta-schema took
 * 50 ms of each instance's first compile, three times in an Orchard that took webhooks, alerts and
 * logs. test/schema/ajv.test.ts checks every shipped schema against the meta-schema instead, and
 * strict mode still refuses an unknown keyword when a schema compiles.
 */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, validateSchema: false, ...options });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-env', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'x-indicator', schemaType: 'string' });
  return ajv;
}
