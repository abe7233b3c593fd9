import type { ConnectorTypeSpec } from './config-types.ts';

// A connector's base_url, checked at start rather than by 404s on the first run: a URL, with no
// credentials, query or fragment, and not ending in a path of the API itself (its type's apiPaths).

/**
 * The longest API path `url`'s path ends in (trailing slashes aside), as written there, and the base
 * URL without it (origin and the path before it); `apiPath` undefined when there is none.
 */
function splitApiPath(apiPaths: readonly string[], url: URL): { apiPath: string | undefined; base: string } {
  const path = url.pathname.replace(/\/+$/, '');
  const lower = path.toLowerCase();
  let found: string | undefined;
  for (const candidate of apiPaths) {
    if (lower.endsWith(candidate.toLowerCase()) && (found === undefined || candidate.length > found.length)) found = candidate;
  }
  const cut = path.length - (found?.length ?? 0);
  return { apiPath: found === undefined ? undefined : path.slice(cut), base: `${url.origin}${path.slice(0, cut)}` };
}

/** `; did you mean https://…?` for a base_url written without a scheme (`acme.jamfcloud.com`, `jamf.corp:8443`), without an API path. */
function schemeHint(value: string, apiPaths: readonly string[]): string {
  if (!/^[\w-]+(?:\.[\w-]+)*(?::\d+)?(?:\/\S*)?$/.test(value) || !/[.:]/.test(value)) return '';
  let url: URL;
  try {
    url = new URL(`https://${value}`);
  } catch {
    return '';
  }
  return `; did you mean ${splitApiPath(apiPaths, url).base}?`;
}

/**
 * The problems of one entry's base_url, added to `problems` (`entry` names the entry). When the schema
 * has already reported it as not a URL, the hint is added to that problem rather than a second one.
 */
export function checkBaseUrl(value: string, spec: ConnectorTypeSpec | undefined, entry: string, problems: string[]): void {
  const apiPaths = spec?.apiPaths ?? [];
  // Credentials belong in their own settings (kept secret); a URL is logged and shown in /status.
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    const hint = schemeHint(value, apiPaths);
    const reported = problems.findIndex((p) => p.startsWith(`${entry}.base_url: `));
    if (reported === -1) problems.push(`${entry}.base_url: is not an http:// or https:// URL${hint}`);
    else problems[reported] += hint;
    return;
  }
  if (url.username || url.password || url.search || url.hash) {
    problems.push(`${entry}.base_url: must not carry a user, password, query or fragment (credentials go in the connector's own settings)`);
  }
  const { apiPath, base } = splitApiPath(apiPaths, url);
  if (apiPath) {
    problems.push(`${entry}.base_url: ends in ${apiPath}, a path of the API itself: Orchard puts the paths it asks for after base_url, and the vendor would answer 404; use ${base}`);
  }
}
