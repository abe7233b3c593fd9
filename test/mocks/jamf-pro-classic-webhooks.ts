/**
 * Jamf Pro's Classic API webhooks, `/JSSResource/webhooks`, for the mock Jamf Pro. Built to what Jamf's
 * own Terraform provider wire-probed (Jamf-Concepts/terraform-provider-jamfplatform:
 * internal/resources/pro/webhook/crud.go, resource.go, schema_types.go, model_types.go) and the SDKs'
 * structs (deploymenttheory/go-api-sdk-jamfpro: sdk/jamfpro/classicapi_webhooks.go):
 * - XML in and out, a flat `<webhook>` element; the list is `<webhooks><size/><webhook><id/><name/></webhook>…`;
 * - POST /id/0 creates and answers 201 `<webhook><id>N</id></webhook>`; PUT /id/N merges what it is
 *   sent into the webhook and answers 201 with no body; a name another webhook has is 409 with Jamf's
 *   HTML status page ("Error: Duplicate name");
 * - defaults of a minimal create: enabled, text/xml, connection timeout 5 s, read timeout 2 s,
 *   authentication NONE, hash SHA256; a content type other than the two is coerced to text/xml;
 *   credentials that do not fit the authentication type are cleared;
 * - the password is never echoed (a redaction sentinel), the header JSON is;
 * - a SmartGroup…MembershipChange webhook follows one smart group, `<smart_group_id>`: refused (409)
 *   without a positive one (deploymenttheory/terraform-provider-jamfpro webhook/data_validator.go), and
 *   so is a smart_group_id on any other event (Jamf-Concepts/terraform-provider-jamfplatform
 *   webhook/schema_types.go: "The server 409s when smart_group_id is supplied for any other event");
 * - privileges Create, Read and Update Webhooks for POST, GET and PUT: 401 without a valid token,
 *   403 without the privilege.
 */

export interface ClassicWebhook {
  id: number;
  name: string;
  enabled: boolean;
  url: string;
  content_type: string;
  event: string;
  connection_timeout: number;
  read_timeout: number;
  authentication_type: string;
  username: string;
  password: string;
  header: string;
  hash_algorithm: string;
  enable_display_fields_for_group_object: boolean;
  /** Only for the SmartGroup…MembershipChange events; -1 otherwise. */
  smart_group_id: number;
}

const smartGroupEvents = ['SmartGroupComputerMembershipChange', 'SmartGroupMobileDeviceMembershipChange', 'SmartGroupUserMembershipChange'];

export const WEBHOOK_PRIVILEGES = ['Create Webhooks', 'Read Webhooks', 'Update Webhooks', 'Delete Webhooks'] as const;

/** The shared template of Classic API errors (grokability/jamf2snipe issue #148; JSSImporter issue #78). */
export function statusPage(title: string, error: string): string {
  return `<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style="font-family: sans-serif;">\n<p style="font-size: 1.2em;font-weight: bold;margin: 1em 0px;">${title}</p>\n<p>Error: ${error}</p>\n<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n`;
}

const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const unescape = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!,
  );

const CONTENT_TYPES = ['text/xml', 'application/json'];

export interface Answer {
  status: number;
  body: string;
  contentType: string;
}
const xml = (status: number, body: string): Answer => ({ status, body, contentType: 'text/xml;charset=UTF-8' });
const html = (status: number, title: string, error: string): Answer => ({ status, body: statusPage(title, error), contentType: 'text/html;charset=UTF-8' });

/** The webhooks of one Jamf Pro, and its answers to the Classic API. */
export class ClassicWebhooks {
  readonly #hooks = new Map<number, ClassicWebhook>();
  #nextId = 1;

  /** Ground truth, password included (fresh copies). */
  list(): ClassicWebhook[] {
    return [...this.#hooks.values()].map((h) => ({ ...h }));
  }

  /** Adds a webhook as an admin would in the UI; returns its id. */
  add(fields: Partial<ClassicWebhook> & { name: string; event: string; url: string }): number {
    const id = this.#nextId++;
    this.#hooks.set(id, this.#normalised({ ...this.#defaults(id), ...fields, id }));
    return id;
  }

  #defaults(id: number): ClassicWebhook {
    return { id, name: '', enabled: true, url: '', content_type: 'text/xml', event: '', connection_timeout: 5, read_timeout: 2, authentication_type: 'NONE', username: '', password: '', header: '', hash_algorithm: 'SHA256', enable_display_fields_for_group_object: false, smart_group_id: -1 };
  }

  /** What Jamf Pro keeps of a webhook: unknown content types become text/xml, credentials the type does not use are cleared. */
  #normalised(h: ClassicWebhook): ClassicWebhook {
    const out = { ...h };
    if (!CONTENT_TYPES.includes(out.content_type)) out.content_type = 'text/xml';
    if (out.authentication_type !== 'BASIC' && out.authentication_type !== 'HASH_SIGNATURE') out.password = '';
    if (out.authentication_type !== 'BASIC') out.username = '';
    if (out.authentication_type !== 'HEADER') out.header = '';
    if (out.authentication_type !== 'HASH_SIGNATURE') out.hash_algorithm = 'SHA256';
    return out;
  }

  #xmlOf(h: ClassicWebhook): string {
    const password = h.password === '' ? '' : '<password>********</password>';
    const credentials = h.authentication_type === 'BASIC' ? `<username>${escape(h.username)}</username>${password}` : h.authentication_type === 'HASH_SIGNATURE' ? password : '';
    return (
      `<webhook><id>${h.id}</id><name>${escape(h.name)}</name><enabled>${h.enabled}</enabled><url>${escape(h.url)}</url><content_type>${h.content_type}</content_type>` +
      `<event>${escape(h.event)}</event><connection_timeout>${h.connection_timeout}</connection_timeout><read_timeout>${h.read_timeout}</read_timeout>` +
      `<authentication_type>${h.authentication_type}</authentication_type>${credentials}${h.authentication_type === 'HEADER' ? `<header>${escape(h.header)}</header>` : ''}` +
      `<hash_algorithm>${h.hash_algorithm}</hash_algorithm><enable_display_fields_for_group_object>${h.enable_display_fields_for_group_object}</enable_display_fields_for_group_object><display_fields><size>0</size></display_fields>${smartGroupEvents.includes(h.event) ? `<smart_group_id>${h.smart_group_id}</smart_group_id>` : ''}</webhook>`
    );
  }

  /** The fields of a `<webhook>` document, or a string saying what is wrong with it. */
  #parse(body: string): Partial<ClassicWebhook> | string {
    const doc = /^\s*(?:<\?xml[^>]*\?>\s*)?<webhook>([\s\S]*)<\/webhook>\s*$/.exec(body);
    if (!doc) return 'Unable to parse XML';
    const inner = doc[1]!;
    if (/<display_fields>/.test(inner)) return 'Problem with display_fields';
    const out: Record<string, unknown> = {};
    for (const m of inner.matchAll(/<(\w+)>([^<]*)<\/\1>|<(\w+)\s*\/>/g)) {
      const key = (m[1] ?? m[3])!;
      const text = unescape(m[2] ?? '');
      if (['connection_timeout', 'read_timeout', 'id', 'smart_group_id'].includes(key)) out[key] = Number(text);
      else if (['enabled', 'enable_display_fields_for_group_object'].includes(key)) out[key] = text === 'true';
      else out[key] = text;
    }
    return out as Partial<ClassicWebhook>;
  }

  /** What is wrong with a webhook's smart group, as Jamf Pro refuses it; undefined when nothing. */
  #smartGroupProblem(h: ClassicWebhook): string | undefined {
    if (smartGroupEvents.includes(h.event)) return h.smart_group_id > 0 ? undefined : 'Problem with smart_group_id';
    return h.smart_group_id > 0 ? 'smart_group_id is only allowed for smart group events' : undefined;
  }

  #duplicate(name: string, id: number): boolean {
    return [...this.#hooks.values()].some((h) => h.id !== id && h.name.toLowerCase() === name.toLowerCase());
  }

  /** Answers one request under /JSSResource/webhooks; `can` says whether the client holds a privilege. */
  answer(method: string, rest: string, body: string, can: (privilege: string) => boolean): Answer {
    const need = method === 'GET' ? 'Read Webhooks' : method === 'POST' ? 'Create Webhooks' : method === 'PUT' ? 'Update Webhooks' : 'Delete Webhooks';
    if (!can(need)) return html(403, 'Forbidden', 'You do not have access to this resource');
    if (rest === '' && method === 'GET') {
      const items = [...this.#hooks.values()].map((h) => `<webhook><id>${h.id}</id><name>${escape(h.name)}</name></webhook>`).join('');
      return xml(200, `<?xml version="1.0" encoding="UTF-8"?><webhooks><size>${this.#hooks.size}</size>${items}</webhooks>`);
    }
    const byId = /^\/id\/(\d+)$/.exec(rest);
    if (!byId) return html(404, 'Not Found', 'The server has not found anything matching the request URI');
    const id = Number(byId[1]);
    const found = this.#hooks.get(id);
    if (method === 'GET') return found ? xml(200, `<?xml version="1.0" encoding="UTF-8"?>${this.#xmlOf(found)}`) : html(404, 'Not Found', 'The server has not found anything matching the request URI');
    if (method === 'DELETE') {
      if (!found) return html(404, 'Not Found', 'The server has not found anything matching the request URI');
      this.#hooks.delete(id);
      return xml(200, `<?xml version="1.0" encoding="UTF-8"?><webhook><id>${id}</id></webhook>`);
    }
    const fields = this.#parse(body);
    if (typeof fields === 'string') return html(409, 'Conflict', fields);
    delete fields.id;
    if (method === 'POST') {
      if (!fields.name) return html(409, 'Conflict', 'Problem with name');
      if (this.#duplicate(fields.name, 0)) return html(409, 'Conflict', 'Duplicate name');
      const created = this.#normalised({ ...this.#defaults(this.#nextId), ...fields, id: this.#nextId });
      const problem = this.#smartGroupProblem(created);
      if (problem) return html(409, 'Conflict', problem);
      const newId = this.#nextId++;
      this.#hooks.set(newId, created);
      return xml(201, `<?xml version="1.0" encoding="UTF-8"?><webhook><id>${newId}</id></webhook>`);
    }
    if (method === 'PUT') {
      if (!found) return html(404, 'Not Found', 'The server has not found anything matching the request URI');
      if (fields.name !== undefined && this.#duplicate(fields.name, id)) return html(409, 'Conflict', 'Duplicate name');
      // A partial merge: what is not sent stays (a password left out keeps the stored one).
      const updated = this.#normalised({ ...found, ...fields, id });
      const problem = this.#smartGroupProblem(updated);
      if (problem) return html(409, 'Conflict', problem);
      this.#hooks.set(id, updated);
      return xml(201, '');
    }
    return html(405, 'Method Not Allowed', 'Method not allowed');
  }
}
