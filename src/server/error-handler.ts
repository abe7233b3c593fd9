import type { FastifyError, FastifyInstance } from 'fastify';
import { OrchardError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The code of the error a request was answered with, for its log line. */
    errorCode?: string;
  }
}

/** Seconds a client is asked to wait after a 503. */
export const retryAfterSeconds = 2;

/**
 * Every error body is `{code, message, details}`. 4xx bodies say what was wrong; 5xx bodies are generic
 * and name the request id under which the full error was logged once.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ code: 'ORCHARD_ERR_NOT_FOUND', message: `No route for ${req.method} ${req.url.split('?')[0]}.`, details: [] });
  });

  app.setErrorHandler((err: FastifyError | OrchardError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status === 503) reply.header('retry-after', String(retryAfterSeconds));
    if (err instanceof OrchardError && 'retryAfterSeconds' in err) reply.header('retry-after', String(err.retryAfterSeconds));
    if (status >= 500 && !(err instanceof OrchardError && status === 503)) {
      req.log.error({ err }, 'Request failed.');
      return reply.code(status >= 500 && status < 600 ? status : 500).send({
        code: 'ORCHARD_ERR_INTERNAL',
        message: `Internal error; the log has it under request id ${req.id}.`,
        details: [],
      });
    }
    req.errorCode = err.code;
    return reply.code(status).send({
      code: err.code ?? 'ORCHARD_ERR_BAD_REQUEST',
      message: err.message,
      details: err instanceof OrchardError ? err.details : [],
    });
  });
}
