import { VendorLoopError, VendorResponseError } from '../../errors.ts';
import type { JumpCloudClient } from './jumpcloud-client.ts';

// The organizations an MSP's key can see: `GET /api/organizations` of the console's v1 API, "with the
// API key of your Primary Organization … This will return all your managed organizations" (JumpCloud's
// v1 spec, TheJumpCloud/jcapi-powershell SwaggerSpecs/JumpCloud.SDK.V1.json, "Multi-Tenant Portal
// Headers"; `Organization_List`: `limit` at most 100, `skip`, `fields`; answer
// `{results: [{_id, displayName, …}], totalCount}`), as JumpCloud's PowerShell module lists them
// (TheJumpCloud/support Get-JCOrganization.ps1, fields _id and displayName). Asked without x-org-id.
// The v2 route (`/api/v2/providers/{id}/organizations`, `{id, name}`) needs the provider id; its
// field names are accepted too.

export const organizationsPath = '/api/organizations';
const pageSize = 100;
/** 100,000 organizations: far beyond any MSP, and a bound should the API ignore `skip`. */
const maxPages = 1000;

export interface Organization {
  readonly id: string;
  readonly name: string | null;
}

export async function listOrganizations(client: JumpCloudClient, connector: string, signal: AbortSignal): Promise<Organization[]> {
  const found = new Map<string, Organization>();
  let previous: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const response = await client.request({ method: 'GET', path: organizationsPath, query: { limit: pageSize, skip: page * pageSize, fields: '_id displayName', sort: '_id' } }, undefined, signal);
    const body = response.json<{ results?: unknown; totalCount?: unknown }>();
    if (body === null || typeof body !== 'object' || !Array.isArray(body.results)) {
      throw new VendorResponseError(connector, 'the answer has no results array: the organizations API may have changed.', { method: 'GET', path: organizationsPath });
    }
    const items = body.results.map(organizationOf).filter((o): o is Organization => o !== undefined);
    const ids = items.map((o) => o.id).join(',');
    if (items.length > 0 && ids === previous) throw new VendorLoopError(connector, 'page', page + 1);
    previous = ids;
    for (const org of items) found.set(org.id, org);
    const total = typeof body.totalCount === 'number' ? body.totalCount : undefined;
    if (body.results.length < pageSize || (total !== undefined && (page + 1) * pageSize >= total)) break;
  }
  return [...found.values()];
}

function organizationOf(item: unknown): Organization | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const o = item as { _id?: unknown; id?: unknown; displayName?: unknown; name?: unknown };
  const id = typeof o._id === 'string' ? o._id : typeof o.id === 'string' ? o.id : undefined;
  if (id === undefined || id === '') return undefined;
  const name = typeof o.displayName === 'string' && o.displayName !== '' ? o.displayName : typeof o.name === 'string' && o.name !== '' ? o.name : null;
  return { id, name };
}
