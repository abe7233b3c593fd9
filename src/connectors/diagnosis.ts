// What went wrong with a connector, in words a user can act on, and whether it is worth retrying.
// The categories follow Stellar Cyber's connector troubleshooting table (400 configuration,
// 401 credentials, 403 permissions, 404 URL, 429 rate limit, 5xx vendor). `isRetryable` is the one
// place that decides whether a connector error is retried (with backoff) or parks the connector
// until someone acts on the diagnosis; the vendor HTTP client uses it too, between attempts.
//
// Decisions beyond the table:
// - ENOTFOUND (the host name does not exist) is a wrong base_url, category 'url', not retried: a typo
//   does not fix itself, and retrying hides it. A temporary resolver failure is EAI_AGAIN, which is
//   'network' and retried.
// - Redirects (3xx) mean base_url points at the wrong place (http:// instead of https://, a login page):
//   'url', not retried.
// - Other 4xx: 404, 405 and 410 are 'url'; the rest, like 400, are 'configuration'. None is retried.
// - TLS failures are not retried: a certificate does not become valid by asking again.
// - A cancelled run (AbortError) is 'internal' and not retried: it happens at shutdown.
// - GraphQL errors in a 200 answer (Jamf Protect) are classified by their AppSync error type and
//   message: not authorised → 'permissions'; throttled → 'rate_limit' and internal/unavailable →
//   'vendor' (both retried); anything else (a query the API no longer accepts) → 'response'.
// - A token endpoint's 401 (or 400 invalid_client) is a bad credential; its 403, or 400
//   unauthorized_client / invalid_scope, is a grant the client lacks ('permissions', "missing grant").
//   When the vendor's answer says the credential expired, the cause says so and quotes it.
// - A field the vendor's GraphQL schema does not serve (VendorGraphqlError.refused) is 'response' with the
//   source's remedy; so is a vendor that would page forever (VendorLoopError).
// - Nothing a cause or remedy says comes from a request: only status, method, path (no query string),
//   error codes, the setting names in `context` and the base URL without credentials or query.

import {
  ConfigInvalidError,
  OrchardError,
  VendorGraphqlError,
  VendorHttpError,
  VendorLoopError,
  VendorNetworkError,
  VendorPagingError,
  VendorResponseError,
  VendorResponseTooLargeError,
} from '../errors.ts';
import { isAbortError, isTlsErrorCode, networkErrorCode } from './network-error-code.ts';

export { isAbortError, isTlsErrorCode, networkErrorCode } from './network-error-code.ts';

export type DiagnosisCategory =
  | 'configuration'
  | 'credentials'
  | 'permissions'
  | 'url'
  | 'rate_limit'
  | 'vendor'
  | 'network'
  | 'tls'
  | 'response'
  | 'redis'
  | 'internal';

export interface Diagnosis {
  category: DiagnosisCategory;
  /** The vendor's HTTP status, when it answered. */
  status?: number;
  retryable: boolean;
  /** What happened, as a sentence. */
  cause: string;
  /** What the user can do about it, as a sentence or two. */
  remedy: string;
}

export interface DiagnosisContext {
  /** The connector's name (its `name` in the `connectors` list). */
  connector: string;
  settings: {
    /** The connector's base_url value. */
    baseUrl: string;
    /** Names of the settings that hold its credentials, e.g. ['client_id', 'client_secret']. */
    credentials: string[];
    /** Names of the settings that shape its requests, e.g. ['sections', 'page_size', 'start'] (named for a 400). */
    request?: string[];
    /** The setting that sets how many items a page holds (`limit`, `page_size`), when the type has one. */
    pageSize?: string;
  };
}

interface Classified {
  category: DiagnosisCategory;
  retryable: boolean;
  status?: number;
}

function classifyStatus(status: number, err: VendorHttpError): Classified {
  if (status === 429) return { category: 'rate_limit', retryable: true, status };
  if (status >= 500) return { category: 'vendor', retryable: true, status };
  if (status === 401) return { category: 'credentials', retryable: false, status };
  if (status === 403) return { category: 'permissions', retryable: false, status };
  if (status === 404 || status === 405 || status === 410 || (status >= 300 && status < 400)) {
    return { category: 'url', retryable: false, status };
  }
  // OAuth token endpoints answer 400 to wrong credentials (RFC 6749 §5.2); `unauthorized_client` (the
  // client may not use this grant) and `invalid_scope` are a grant the client lacks, not a wrong secret.
  if (status === 400 && /\b(?:unauthorized_client|invalid_scope)\b/.test(err.bodyExcerpt)) {
    return { category: 'permissions', retryable: false, status };
  }
  if (status === 400 && /\b(?:invalid_client|invalid_grant)\b/.test(err.bodyExcerpt)) {
    return { category: 'credentials', retryable: false, status };
  }
  return { category: 'configuration', retryable: false, status };
}

function classifyGraphql(err: VendorGraphqlError): Classified {
  if (err.refused) return { category: 'response', retryable: false };
  const text = err.text;
  if (/unauthori[sz]ed|not authori[sz]ed|access ?denied|forbidden/i.test(text)) return { category: 'permissions', retryable: false };
  if (/throttl|too ?many ?requests|rate ?limit|limit ?exceeded/i.test(text)) return { category: 'rate_limit', retryable: true };
  if (/internal ?(?:failure|error|server)|service ?unavailable|timeout|timed out/i.test(text)) return { category: 'vendor', retryable: true };
  return { category: 'response', retryable: false };
}

function classify(err: unknown): Classified {
  if (err instanceof VendorHttpError) return classifyStatus(err.status, err);
  if (err instanceof VendorLoopError) return { category: 'response', retryable: false };
  if (err instanceof VendorGraphqlError) return classifyGraphql(err);
  if (err instanceof VendorResponseError || err instanceof VendorPagingError) return { category: 'response', retryable: false };
  if (err instanceof VendorResponseTooLargeError) return { category: 'configuration', retryable: false };
  if (err instanceof OrchardError) {
    if (err.code === 'ORCHARD_ERR_SINK_UNAVAILABLE') return { category: 'redis', retryable: true };
    if (err instanceof ConfigInvalidError) return { category: 'configuration', retryable: false };
  }
  if (isAbortError(err)) return { category: 'internal', retryable: false };
  const code = err instanceof VendorNetworkError ? err.errorCode : networkErrorCode(err);
  if (code !== undefined) {
    if ((err instanceof VendorNetworkError && err.tls) || isTlsErrorCode(code)) return { category: 'tls', retryable: false };
    if (code === 'ENOTFOUND') return { category: 'url', retryable: false };
    return { category: 'network', retryable: true };
  }
  return { category: 'internal', retryable: false };
}

/**
 * Whether a connector error is worth retrying: network failures (not TLS, not an unknown host), 429,
 * 5xx and Redis unavailable are; 400, 401 (after the client's one token refresh), 403, 404, schema
 * drift and anything unexpected are not, and park the connector with its diagnosis.
 */
export function isRetryable(err: unknown): boolean {
  return classify(err).retryable;
}

/** What a diagnosis names of a connector's source (its descriptor's, src/sources/source-descriptor.ts). */
export interface SourceInfo {
  /** The settings that hold its credentials. */
  readonly credentialKeys: readonly string[];
  /** The setting that sets how many items a page holds, when the type has one. */
  readonly pageSizeSetting?: string;
  /** The settings that shape its requests (named for a 400). */
  readonly requestSettings?: readonly string[];
}

/** `diagnose` for a configured connector and its source (the runner and `orchard test`). */
export function diagnoseConnector(err: unknown, config: { name: string; baseUrl: string }, source: SourceInfo): Diagnosis {
  const request = source.requestSettings === undefined ? {} : { request: [...source.requestSettings] };
  return diagnose(err, { connector: config.name, settings: { baseUrl: config.baseUrl, credentials: [...source.credentialKeys], pageSize: source.pageSizeSetting, ...request } });
}

/** Cause and remedy of a connector error, for `orchard test`, `/status` and the log. */
export function diagnose(err: unknown, context: DiagnosisContext): Diagnosis {
  const { category, retryable, status } = classify(err);
  const name = context.connector;
  const setting = (key: string) => `connectors[${name}].${key}`;
  const baseUrl = setting('base_url');
  const shownUrl = displayUrl(context.settings.baseUrl);
  const what = describeRequest(err);
  const text = TEXTS[category]({ err, name, setting, baseUrl, shownUrl, what, status, context });
  return { category, ...(status === undefined ? {} : { status }), retryable, ...text };
}

interface TextInput {
  err: unknown;
  name: string;
  setting: (key: string) => string;
  baseUrl: string;
  shownUrl: string;
  what: string;
  status: number | undefined;
  context: DiagnosisContext;
}

type Texts = (input: TextInput) => { cause: string; remedy: string };

const TEXTS: Record<DiagnosisCategory, Texts> = {
  configuration: ({ err, name, setting, baseUrl, what, status, context }) => {
    if (err instanceof VendorResponseTooLargeError) {
      const pageSize = context.settings.pageSize;
      if (/\/token$/.test(err.path)) {
        return {
          cause: `The answer to ${what} (HTTP ${err.status}) of connector ${name} is larger than ${err.limitBytes} bytes: far more than a token, so it is not the vendor's token endpoint.`,
          remedy: `Check that ${baseUrl} is the API's base URL (not a portal or a proxy's page), then run \`orchard test ${name}\`. The connector stays parked until then.`,
        };
      }
      return {
        cause: `The answer to ${what} (HTTP ${err.status}) of connector ${name} is larger than ${err.limitBytes} bytes, the most Orchard reads of one answer.`,
        remedy: pageSize
          ? `Ask for fewer items per page: lower ${setting(pageSize)}, then run \`orchard test ${name}\`. The connector stays parked until then.`
          : `Connector ${name}'s pages have a fixed size, so the vendor's items are far larger than usual: report it with this message. The connector stays parked until then.`,
      };
    }
    if (status === undefined) {
      const problems = err instanceof ConfigInvalidError ? err.problems.join('; ') : 'a setting has a value it cannot take';
      return {
        cause: `The configuration is invalid: ${problems.replace(/\.$/, '')}.`,
        remedy: `Correct the settings named in the cause (connector ${name} is configured in the connectors list of the configuration file), then restart Orchard.`,
      };
    }
    const request = (context.settings.request ?? []).map(setting);
    const check =
      request.length > 0
        ? `Check ${list(request)} against what the vendor accepts`
        : `Check the settings of connectors[${name}] that shape its requests (start time, page size, filters) against what the vendor accepts`;
    return {
      cause: `The vendor rejected the request of connector ${name} as invalid (HTTP ${status} to ${what})${vendorSays(err)}.`,
      remedy: `${check}, and that ${baseUrl} is the API's base URL, then run \`orchard test ${name}\`. The connector stays parked until then.`,
    };
  },
  credentials: ({ err, name, setting, what, status, context }) => {
    const expired = expiryReported(err);
    const tried = err instanceof VendorHttpError && (err.credentialsTried ?? 0) > 1 ? `, each of its ${err.credentialsTried} client secrets tried` : '';
    // Sources that exchange a client secret or password for a token retried once with a fresh one; API keys have no token.
    const fresh = !tried && !isTokenRequest(err) && context.settings.credentials.some((k) => /secret|password/.test(k)) ? ', even after a fresh token' : '';
    return {
      cause: expired
        ? `The vendor reports that the credentials of connector ${name} expired (HTTP ${status} to ${what}${tried}; it said: "${expired}").`
        : `The vendor did not accept the credentials of connector ${name} (HTTP ${status} to ${what}${tried})${fresh}: they are wrong, expired or revoked, or the API client is disabled.`,
      remedy: expired
        ? `Create a new secret or key in the vendor's console, set it in ${credentialSettings(context, setting)} (during a rotation list both secrets), then run \`orchard test ${name}\`.`
        : `Check ${credentialSettings(context, setting)} against the API client defined in the vendor's console (create a new secret if it expired), then run \`orchard test ${name}\`.`,
    };
  },
  permissions: ({ err, name, what, status }) => {
    const answer = status === undefined ? `GraphQL error to ${what}: "${graphqlMessage(err)}"` : `HTTP ${status} to ${what}${vendorSays(err)}`;
    if (isTokenRequest(err)) {
      return {
        cause: `The vendor accepted the credentials of connector ${name} but does not grant them a token for its API (${answer}): the client (service account) lacks the grant, scope or role this needs.`,
        remedy: `In the vendor's console, give the client used by connector ${name} a role that may read this data and the client-credentials grant with the API scope (JumpCloud: a service account with an administrator role, scope api), then run \`orchard test ${name}\`.`,
      };
    }
    return {
      cause: `The credentials of connector ${name} were accepted but lack a permission (${answer}): the API client's role does not grant read access to this data.`,
      remedy: `In the vendor's console, give the API client used by connector ${name} a role with the read privileges this connector needs (for Jamf Pro, e.g. Read Computers for the inventory, Read Mobile Devices for mobile devices; for Jamf Protect, the Read Only role; for JumpCloud, an administrator or service account role that can read Directory Insights or users, and for an MSP, access to the organization), then run \`orchard test ${name}\`.`,
    };
  },
  url: ({ err, name, baseUrl, shownUrl, what, status }) => {
    if (status === undefined) {
      return {
        cause: `The host name of connector ${name} does not resolve (DNS answered ENOTFOUND for ${shownUrl}).`,
        remedy: `Check the host name in ${baseUrl} (Jamf Pro in Jamf Cloud: https://<instance>.jamfcloud.com; Jamf Protect: https://<tenant>.protect.jamfcloud.com; JumpCloud: https://console.jumpcloud.com) and that this machine's DNS can resolve it.`,
      };
    }
    if (status >= 300 && status < 400) {
      return {
        cause: `The vendor redirected the request of connector ${name} (HTTP ${status} to ${what}): ${shownUrl} is not the API's address.`,
        remedy: `Set ${baseUrl} to the API's base URL with https:// and without a trailing path the vendor does not use; a login or portal page is not the API.`,
      };
    }
    return {
      cause: `The vendor has no such resource (HTTP ${status} to ${what})${vendorSays(err)}: ${shownUrl} is the wrong host, instance or path prefix for connector ${name}.`,
      remedy: `Check ${baseUrl} (now ${shownUrl}): it must be the API's base URL, with no path unless the vendor hosts the API under one, then run \`orchard test ${name}\`.`,
    };
  },
  rate_limit: ({ err, name, setting, what }) => {
    const waitMs = err instanceof VendorHttpError ? err.retryAfterMs : undefined;
    const wait = waitMs === undefined ? '' : `; it asked to wait ${Math.ceil(waitMs / 1000)} s`;
    const answer = err instanceof VendorGraphqlError ? `GraphQL error to ${what}: "${graphqlMessage(err)}"` : `HTTP 429 to ${what}${wait}`;
    return {
      cause: `The vendor is limiting the request rate of connector ${name} (${answer}).`,
      remedy: `Nothing to do at once: Orchard waits and retries. If it persists, lengthen ${setting('interval')}, lower ${setting('max_connections')}, or check which other clients share this API client's quota.`,
    };
  },
  vendor: ({ err, name, shownUrl, what, status }) => ({
    cause: `The vendor's API failed to answer the request of connector ${name} (${status === undefined ? `GraphQL error to ${what}: "${graphqlMessage(err)}"` : `HTTP ${status} to ${what}`}).`,
    remedy: `Nothing to do at once: Orchard retries with backoff. If it persists, check the vendor's status page and that ${shownUrl} is the API host rather than a proxy in front of it.`,
  }),
  network: ({ err, name, baseUrl, shownUrl }) => {
    const code = networkCodeOf(err);
    return {
      cause: `Connector ${name} could not reach ${shownUrl}: ${NETWORK_PROBLEMS[code ?? ''] ?? `the connection failed (${code})`}.`,
      remedy: `Network failures are retried with backoff (max_attempts per request, then the whole run after a pause). If it persists, check ${baseUrl} (host and port) and that a firewall or proxy lets this machine reach that host${shownUrl.startsWith('https:') ? ' over HTTPS' : ''}.`,
    };
  },
  tls: ({ err, name, baseUrl, shownUrl }) => {
    const code = networkCodeOf(err) ?? 'TLS';
    return {
      cause: `Connector ${name} could not set up a trusted TLS connection to ${shownUrl}: ${TLS_PROBLEMS[code] ?? 'the TLS handshake or the certificate check failed'} (${code}).`,
      remedy: `Check that ${baseUrl} names the host the certificate was issued for and uses https:// only where the server speaks TLS; if the server's certificate chain is incomplete or comes from a private CA, fix the chain on the server or add the CA to this machine's trust store (NODE_EXTRA_CA_CERTS). Orchard does not retry until then.`,
    };
  },
  response: ({ err, name, baseUrl, what }) => {
    if (err instanceof VendorGraphqlError && err.refused) {
      return {
        cause: `The vendor's API at ${what} does not serve ${err.refused.field}, which connector ${name} asks for (${err.message.replace(`${name}: `, '')}).`,
        remedy: `${err.refused.remedy} Then run \`orchard test ${name}\`. The connector stays parked until then.`,
      };
    }
    if (err instanceof VendorPagingError) {
      return {
        cause: `The vendor's paging contradicted itself for connector ${name} (${err.message.replace(`${name}: `, '')}): the run stopped rather than loop or skip items.`,
        remedy: `Nothing is lost: the next run (at the next interval, or at once after \`orchard checkpoint reset ${name}\`) goes on from the last page written. If it recurs, check what sits between Orchard and ${baseUrl} (a proxy caching pages?), then report it with this message.`,
      };
    }
    if (err instanceof VendorLoopError) {
      return {
        cause: `${err.message.replace(`${name}: `, `Connector ${name}: `)} The page was not written; the checkpoint keeps the last page before it.`,
        remedy: `Nothing is lost or duplicated. The next run starts again from the checkpoint; if the vendor answers the same way again, report it to the vendor (and to Orchard) with this message. The connector stays parked until its next interval.`,
      };
    }
    return responseTexts(err, name, baseUrl);
  },
  redis: ({ name }) => ({
    cause: `Redis did not store the events of connector ${name}: it is unreachable or not keeping up.`,
    remedy: `Nothing is lost: Orchard retries from the last checkpoint. If it persists, check that Redis is running and reachable at redis_url (REDIS_URL) and has memory left.`,
  }),
  internal: ({ err, name }) => ({
    cause: isAbortError(err)
      ? `The run of connector ${name} was cancelled (Orchard is shutting down, or the run exceeded its time limit).`
      : `Connector ${name} failed unexpectedly (${errorName(err)}).`,
    remedy: isAbortError(err)
      ? `Nothing to do: the connector resumes from its checkpoint at the next start.`
      : `This is a bug in Orchard: report it with the log line of this failure. Restarting Orchard resumes the connector from its checkpoint.`,
  }),
};

const NETWORK_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections at that address and port (ECONNREFUSED)',
  ECONNRESET: 'the connection was reset (ECONNRESET)',
  ETIMEDOUT: 'the connection timed out (ETIMEDOUT)',
  EHOSTUNREACH: 'the host is unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'the network is unreachable (ENETUNREACH)',
  EAI_AGAIN: 'the DNS lookup failed for now (EAI_AGAIN)',
  EPIPE: 'the connection was closed while sending (EPIPE)',
  UND_ERR_SOCKET: 'the server closed the connection before answering (UND_ERR_SOCKET)',
  UND_ERR_CONNECT_TIMEOUT: 'the connection was not established in time (UND_ERR_CONNECT_TIMEOUT)',
  UND_ERR_HEADERS_TIMEOUT: 'the server did not answer in time (UND_ERR_HEADERS_TIMEOUT)',
  UND_ERR_BODY_TIMEOUT: 'the server stopped sending the response body (UND_ERR_BODY_TIMEOUT)',
};

const TLS_PROBLEMS: Record<string, string> = {
  CERT_HAS_EXPIRED: "the server's certificate has expired, or this machine's clock is wrong",
  CERT_NOT_YET_VALID: "the server's certificate is not valid yet, or this machine's clock is wrong",
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presents a self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate chain ends in a CA this machine does not trust",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate chain is incomplete or its issuer is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the issuer of the server's certificate is not in this machine's trust store",
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate was issued for another host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak TLS on that port: it may be a plain http:// server, or the port may be wrong',
};

function networkCodeOf(err: unknown): string | undefined {
  return err instanceof VendorNetworkError ? err.errorCode : networkErrorCode(err);
}

function credentialSettings(context: DiagnosisContext, setting: (key: string) => string): string {
  const keys = context.settings.credentials;
  return keys.length === 0 ? `the credentials of connectors[${context.connector}]` : list(keys.map(setting));
}

function graphqlMessage(err: unknown): string {
  const first = err instanceof VendorGraphqlError ? err.errors[0] : undefined;
  return first ? first.message.slice(0, 200) : '';
}

function describeRequest(err: unknown): string {
  if (err instanceof VendorHttpError || err instanceof VendorNetworkError || err instanceof VendorGraphqlError || err instanceof VendorResponseTooLargeError || err instanceof VendorPagingError) {
    return `${err.method} ${err.path}`;
  }
  if (err instanceof VendorResponseError && err.path !== undefined) return `${err.method ?? ''} ${err.path}`.trim();
  return 'the request';
}

function vendorSays(err: unknown): string {
  if (!(err instanceof VendorHttpError) || err.bodyExcerpt === '') return '';
  const excerpt = err.bodyExcerpt.length > 200 ? `${err.bodyExcerpt.slice(0, 200)}…` : err.bodyExcerpt;
  return `; the vendor said: "${excerpt}"`;
}

/** The base URL as it can be shown: no user info, no query, no fragment. */
function displayUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured base URL (which is not a valid URL)';
  }
}

function errorName(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err && typeof err.code === 'string' ? ` (${err.code})` : ''}`;
  return typeof err;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The response category's words for schema drift (a body or a GraphQL answer the source cannot use). */
function responseTexts(err: unknown, name: string, baseUrl: string): { cause: string; remedy: string } {
  return {
    cause: err instanceof VendorGraphqlError
      ? `The vendor's GraphQL API refused the query of connector ${name} (${err.message.replace(`${name}: `, '')}): the API has changed (schema drift) or ${baseUrl} points at another API.`
      : `Connector ${name} got a response it cannot read (${(err as Error).message.replace(`${name}: `, '')}): the vendor's API has changed (schema drift) or ${baseUrl} points at something that is not the API.`,
    remedy: `Check that ${baseUrl} is the API's base URL; if it is, the vendor changed its API: report it with this message and update Orchard. The connector stays parked until then.`,
  };
}

/** A token request's failure (OAuth token endpoints, Jamf Protect's /token), as opposed to an API call's. */
function isTokenRequest(err: unknown): boolean {
  return err instanceof VendorHttpError && /\/(?:oauth2?\/)?token$/.test(err.path);
}

/** What the vendor said when it says the credential expired (an excerpt), else undefined. */
function expiryReported(err: unknown): string | undefined {
  if (!(err instanceof VendorHttpError) || !/\bexpir(?:ed|y|es)\b/i.test(err.bodyExcerpt)) return undefined;
  return err.bodyExcerpt.length > 200 ? `${err.bodyExcerpt.slice(0, 200)}…` : err.bodyExcerpt;
}
