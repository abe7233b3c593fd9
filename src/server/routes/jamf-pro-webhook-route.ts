import type { FastifyInstance } from 'fastify';
import { labelCache } from '../../metrics.ts';
import { EmptyBodyError, MalformedJsonError, OrchardError } from '../../errors.ts';
import { webhookRecord, webhookSource } from '../../sources/jamf-pro-webhooks/webhook-record.ts';
import type { WebhookValidator } from '../../sources/jamf-pro-webhooks/webhook-validator.ts';
import { addIntakeHooks, rawBody, rejectIntake, unsupportedMediaType, type IntakeOptions } from '../intake-hooks.ts';

export interface JamfProWebhookRouteOptions extends Omit<IntakeOptions, 'source'> {
  readonly path: string;
  /** The tenant of its records (webhook_tenant). Default ''. */
  readonly tenant?: string;
  readonly validator: WebhookValidator;
}

const appendedResponse = {
  type: 'object',
  properties: { id: { type: 'string' }, entry: { type: 'string' }, duplicate: { type: 'boolean' }, spooled: { type: 'boolean' } },
} as const;

/**
 * POST <path>: a Jamf Pro webhook. Answered 202 {id, entry} once Redis acknowledged the append, 200
 * with the first append's {id, entry} when the same body was already appended within the dedup window.
 * When Redis cannot take it, 202 {id, spooled: true} once it is synced to the local spool (no entry
 * yet), and 200 {id, duplicate: true, spooled: true} for a repeat of a body still spooled.
 */
export async function jamfProWebhookRoute(scope: FastifyInstance, options: JamfProWebhookRouteOptions): Promise<void> {
  const intake: IntakeOptions = { ...options, source: webhookSource };
  const { metrics, sink, validator } = options;
  addIntakeHooks(scope, intake);

  const appended = labelCache((type: string) => metrics.eventsAppendedTally.labels({ source: webhookSource, type }));
  const duplicates = metrics.duplicates.labels(webhookSource);

  scope.post(options.path, { schema: { response: { 200: appendedResponse, 202: appendedResponse } } }, async (req, reply) => {
    const receivedMs = Date.now();
    if (req.unsupportedMediaType) return rejectIntake(intake, req, unsupportedMediaType(req));
    const raw = rawBody(req);
    if (raw.length === 0) return rejectIntake(intake, req, new EmptyBodyError());

    const text = raw.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return rejectIntake(intake, req, new MalformedJsonError(err));
    }
    let webhook;
    try {
      webhook = validator.validate(body);
    } catch (err) {
      if (err instanceof OrchardError) return rejectIntake(intake, req, err);
      throw err;
    }

    // The tenant of the secret that was accepted (webhook_tenant_secrets), else the route's (webhook_tenant).
    const result = await sink.append(webhookRecord(raw, body, webhook, receivedMs, req.intakeTenant || (options.tenant ?? '')));
    if (result.duplicate) {
      duplicates.inc();
      return reply.code(200).send(result.spooled ? { id: result.id, duplicate: true, spooled: true } : { id: result.id, entry: result.entry, duplicate: true });
    }
    if (!webhook.known) metrics.unknownWebhookEvents.inc();
    // A spooled event is counted as appended when it is drained (src/spool/spool-forwarder.ts).
    if (result.spooled) return reply.code(202).send({ id: result.id, spooled: true });
    appended(webhook.known ? webhook.webhookEvent : 'unknown').inc();
    return reply.code(202).send({ id: result.id, entry: result.entry });
  });
}
