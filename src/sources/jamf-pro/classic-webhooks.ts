import { VendorResponseError } from '../../errors.ts';
import type { JamfProApi } from './jamf-pro-api.ts';
import { childText, readXml, xmlText, type XmlElement } from './xml-reader.ts';

// Jamf Pro's webhooks, managed only through the Classic API, `/JSSResource/webhooks`, in XML. Built to
// what Jamf's own Terraform provider wire-probed (Jamf-Concepts/terraform-provider-jamfplatform:
// internal/resources/pro/webhook/crud.go, resource.go, model_types.go) and the SDKs' structs
// (deploymenttheory/go-api-sdk-jamfpro: sdk/jamfpro/classicapi_webhooks.go):
// - GET /JSSResource/webhooks lists `<webhook><id/><name/></webhook>`; GET …/id/N gives one, flat
//   (id, name, enabled, url, content_type, event, connection_timeout, read_timeout,
//   authentication_type, username, password, header, hash_algorithm, …);
// - POST …/id/0 creates (201, `<webhook><id>N</id></webhook>`); PUT …/id/N merges what it is sent (201,
//   no body); a name already taken is 409;
// - the password is never echoed; the header JSON is (so a GET answer holds our secret: it is never
//   printed or logged);
// - privileges Create, Read and Update Webhooks; the Bearer token of an API client works on the
//   Classic API (developer.jamf.com, Client Credentials);
// - the three SmartGroup…MembershipChange events follow one smart group, `<smart_group_id>`: Jamf's
//   provider sends it only for those events (the server answers 409 when it is given for another,
//   terraform-provider-jamfplatform webhook/schema_types.go), and deploymenttheory's provider refuses
//   those events without a non-zero one (terraform-provider-jamfpro webhook/data_validator.go).

export const classicWebhooksPath = '/JSSResource/webhooks';

/** A webhook as Jamf Pro holds it (the fields Orchard manages or reads). */
export interface JamfWebhook {
  readonly id: number;
  readonly name: string;
  readonly enabled: boolean;
  readonly url: string;
  readonly contentType: string;
  readonly event: string;
  readonly connectionTimeoutSeconds: number | undefined;
  readonly readTimeoutSeconds: number | undefined;
  readonly authenticationType: string;
  /** The Header Authentication JSON as Jamf Pro echoes it (holds a secret: never print it). */
  readonly header: string | undefined;
  /** The smart group a SmartGroup…MembershipChange webhook follows (absent, or 0 or -1, for others). */
  readonly smartGroupId: number | undefined;
}

/** The fields a create or an update sends (undefined: left as it is). */
export interface WebhookFields {
  readonly name?: string;
  readonly enabled?: boolean;
  readonly url?: string;
  readonly contentType?: string;
  readonly event?: string;
  readonly connectionTimeoutSeconds?: number;
  readonly readTimeoutSeconds?: number;
  readonly authenticationType?: string;
  readonly header?: string;
  /** Sent only for the SmartGroup…MembershipChange events. */
  readonly smartGroupId?: number;
}

/** The events whose webhook follows one smart group (`smart_group_id`). */
export const smartGroupEvents: readonly string[] = ['SmartGroupComputerMembershipChange', 'SmartGroupMobileDeviceMembershipChange', 'SmartGroupUserMembershipChange'];

const xmlHeaders = { accept: 'application/xml', 'content-type': 'application/xml' };

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** The webhook a `<webhook>` element describes. */
export function webhookOf(el: XmlElement): JamfWebhook {
  const text = (name: string) => childText(el, name)?.trim();
  return {
    id: integer(text('id')) ?? -1,
    name: childText(el, 'name') ?? '',
    enabled: text('enabled') === 'true',
    url: text('url') ?? '',
    contentType: text('content_type') ?? '',
    event: text('event') ?? '',
    connectionTimeoutSeconds: integer(text('connection_timeout')),
    readTimeoutSeconds: integer(text('read_timeout')),
    authenticationType: text('authentication_type') ?? '',
    header: childText(el, 'header'),
    smartGroupId: integer(text('smart_group_id')),
  };
}

/** The `<webhook>` document of a create or an update: only the fields given. */
export function webhookXml(fields: WebhookFields): string {
  const parts: string[] = [];
  const add = (tag: string, value: string | number | boolean | undefined) => {
    if (value !== undefined) parts.push(`<${tag}>${xmlText(String(value))}</${tag}>`);
  };
  add('name', fields.name);
  add('enabled', fields.enabled);
  add('url', fields.url);
  add('content_type', fields.contentType);
  add('event', fields.event);
  add('connection_timeout', fields.connectionTimeoutSeconds);
  add('read_timeout', fields.readTimeoutSeconds);
  add('authentication_type', fields.authenticationType);
  add('header', fields.header);
  add('smart_group_id', fields.smartGroupId);
  return `<?xml version="1.0" encoding="UTF-8"?><webhook>${parts.join('')}</webhook>`;
}

/** The Classic API's webhooks of one Jamf Pro, through a connector's API client. */
export class ClassicWebhooksApi {
  readonly #api: JamfProApi;
  readonly #connector: string;

  constructor(api: JamfProApi, connector: string) {
    this.#api = api;
    this.#connector = connector;
  }

  #read(path: string, body: string): XmlElement {
    try {
      return readXml(body);
    } catch (err) {
      throw new VendorResponseError(this.#connector, `the answer is not the XML expected (${(err as Error).message})`, { method: 'GET', path, cause: err });
    }
  }

  /** Every webhook, each read whole (the list names only id and name). */
  async list(signal?: AbortSignal): Promise<JamfWebhook[]> {
    const listed = await this.#api.client.request({ method: 'GET', path: classicWebhooksPath, headers: xmlHeaders, auth: true }, signal);
    const root = this.#read(classicWebhooksPath, listed.body);
    if (root.name !== 'webhooks') throw new VendorResponseError(this.#connector, `GET ${classicWebhooksPath} answered <${root.name}>, not <webhooks>`);
    const ids = root.children.filter((c) => c.name === 'webhook').map((c) => integer(childText(c, 'id')));
    const out: JamfWebhook[] = [];
    for (const id of ids) if (id !== undefined) out.push(await this.get(id, signal));
    return out;
  }

  async get(id: number, signal?: AbortSignal): Promise<JamfWebhook> {
    const path = `${classicWebhooksPath}/id/${id}`;
    const answer = await this.#api.client.request({ method: 'GET', path, headers: xmlHeaders, auth: true }, signal);
    const root = this.#read(path, answer.body);
    if (root.name !== 'webhook') throw new VendorResponseError(this.#connector, `GET ${path} answered <${root.name}>, not <webhook>`);
    return webhookOf(root);
  }

  /** Creates a webhook; returns its id. */
  async create(fields: WebhookFields, signal?: AbortSignal): Promise<number> {
    const path = `${classicWebhooksPath}/id/0`;
    const answer = await this.#api.client.request({ method: 'POST', path, headers: xmlHeaders, body: webhookXml(fields), auth: true }, signal);
    const id = integer(childText(this.#read(path, answer.body), 'id'));
    if (id === undefined) throw new VendorResponseError(this.#connector, `POST ${path} answered ${answer.status} without the new webhook's id`);
    return id;
  }

  async update(id: number, fields: WebhookFields, signal?: AbortSignal): Promise<void> {
    await this.#api.client.request({ method: 'PUT', path: `${classicWebhooksPath}/id/${id}`, headers: xmlHeaders, body: webhookXml(fields), auth: true }, signal);
  }
}
