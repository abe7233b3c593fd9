import type { ValidateFunction } from 'ajv';
import { SchemaViolationError } from '../../errors.ts';
import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { createAjv } from '../../schema/ajv.ts';
import { readSchemaFolder } from '../../schema/read-schema.ts';
import { schemaErrorDetails, type SchemaErrorDetail } from '../../schema/schema-errors.ts';

export interface ValidatedWebhook {
  readonly webhookEvent: string;
  /** False when Orchard has no schema for this webhookEvent (only the envelope was checked). */
  readonly known: boolean;
  readonly eventTimestamp: number | string;
  readonly extractor: IndicatorExtractor;
}

interface CompiledEvent {
  readonly validate: ValidateFunction;
  readonly extractor: IndicatorExtractor;
}

/**
 * Validates webhook bodies against schemas/jamf-pro-webhooks/, chosen by `webhook.webhookEvent`.
 * Each event's schema is compiled when its first webhook comes, the envelope's when the first body
 * of no known event comes: compiling all of them took a third of the CPU of Orchard's start, for
 * events most installations never receive.
 */
export class WebhookValidator {
  readonly #ajv = createAjv();
  readonly #schemas: ReadonlyMap<string, Record<string, unknown>>;
  readonly #events = new Map<string, CompiledEvent>();
  #envelopeCompiled: CompiledEvent | undefined;

  constructor() {
    this.#schemas = readSchemaFolder('jamf-pro-webhooks');
  }

  get #envelope(): CompiledEvent {
    return (this.#envelopeCompiled ??= this.#compile(this.#schemas.get('envelope')!));
  }

  get knownEvents(): string[] {
    return [...this.#schemas.keys()].filter((name) => name !== 'envelope');
  }

  #compile(schema: Record<string, unknown>): CompiledEvent {
    return { validate: this.#ajv.compile(schema), extractor: new IndicatorExtractor(schema) };
  }

  /** The compiled schema of a known event (compiled at its first use), or undefined. */
  #event(name: unknown): CompiledEvent | undefined {
    if (typeof name !== 'string' || name === 'envelope') return undefined;
    let compiled = this.#events.get(name);
    const schema = compiled ? undefined : this.#schemas.get(name);
    if (schema) this.#events.set(name, (compiled = this.#compile(schema)));
    return compiled;
  }

  /** Returns what the route needs, or throws SchemaViolationError naming the failing paths. */
  validate(body: unknown): ValidatedWebhook {
    // A known event's schema includes the envelope: one validation for the common case.
    const compiled = this.#event(webhookEventOf(body));
    if (compiled) {
      if (!compiled.validate(body)) {
        const details = schemaErrorDetails(compiled.validate.errors);
        throw new SchemaViolationError(`Body does not match the ${webhookEventOf(body)} schema: ${describe(details)}`, details);
      }
    } else if (!this.#envelope.validate(body)) {
      const details = schemaErrorDetails(this.#envelope.validate.errors);
      throw new SchemaViolationError(`Body is not a Jamf Pro webhook: ${describe(details)}`, details);
    }
    const webhook = (body as { webhook: { webhookEvent: string; eventTimestamp: number | string } }).webhook;
    return {
      webhookEvent: webhook.webhookEvent,
      known: compiled !== undefined,
      eventTimestamp: webhook.eventTimestamp,
      extractor: (compiled ?? this.#envelope).extractor,
    };
  }
}

/** `webhook.webhookEvent` when the body has that shape, else undefined. */
function webhookEventOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const webhook = (body as { webhook?: unknown }).webhook;
  return typeof webhook === 'object' && webhook !== null ? (webhook as { webhookEvent?: unknown }).webhookEvent : undefined;
}

function describe(details: SchemaErrorDetail[]): string {
  const shown = details.slice(0, 3).map((d) => `${d.path} ${d.message}`);
  return shown.join('; ') + (details.length > 3 ? ` (and ${details.length - 3} more)` : '');
}
