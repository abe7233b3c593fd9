import type { ErrorObject } from 'ajv';

// What a refused body or line was missing or got wrong, as the details of its 4xx answer and rejected entry.

/** At most this many schema errors are reported for one body. */
const maxDetails = 20;

export interface SchemaErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** ajv's errors as `{path, message}`, the first 20 at most. */
export function schemaErrorDetails(errors: readonly ErrorObject[] | null | undefined): SchemaErrorDetail[] {
  return (errors ?? []).slice(0, maxDetails).map((e) => {
    const missing = e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
    return { path: `${e.instancePath}${missing}` || '/', message: e.message ?? e.keyword };
  });
}
