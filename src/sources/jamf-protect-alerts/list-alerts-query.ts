// The listAlerts query of the public `/graphql` endpoint of Jamf Protect, which serves fewer Alert
// fields than the console's private `/app` schema (Jamf-Concepts/jamfprotect-go-sdk CLAUDE.md: "/graphql
// (limited, introspection enabled) and /app (full API…)"). Orchard asks only for:
//   - the fields real clients of /graphql select: `json severity created computer { hostName }`, Jamf's
//     own example (jamf/jamfprotect jamf_protect_api/scripts/python/export_alert_data.py) and Palo
//     Alto's collector (demisto/content Packs/JamfProtect/…/JamfProtectEventCollector.py);
//   - to follow updates, `updated` and `status` (and `tags`), which the public Alert type lists
//     (developer.jamf.com, "Jamf Protect - Types") but no public client is seen selecting, and a filter
//     on `updated` by analogy with the `created` one those clients use. `tags` is dropped by itself when
//     refused; `updated` or `status` refused stops the connector with a remedy (follow_updates: false).
// Everything else (uuid, event type, host, the tags at creation) is read from the alert's `json`.

export interface ListAlertsQueryOptions {
  /** Filter on `updated` and select `updated status`; else filter on `created` (the query of Jamf's example). */
  readonly followUpdates: boolean;
  /** Select `tags` too (following updates only). */
  readonly tags: boolean;
  readonly minSeverity: boolean;
}

/** The name of the time variable and filter field: `updated` when following updates, else `created`. */
export const timeField = (followUpdates: boolean): 'updated' | 'created' => (followUpdates ? 'updated' : 'created');

export function listAlertsQuery(o: ListAlertsQueryOptions): string {
  const field = timeField(o.followUpdates);
  const severity = o.minSeverity ? ', and: {severity: {greaterThanOrEqual: $minSeverity}}' : '';
  const updates = o.followUpdates ? ` updated status${o.tags ? ' tags' : ''}` : '';
  return `query listAlerts($${field}: AWSDateTime, $pageSize: Int, $next: String${o.minSeverity ? ', $minSeverity: SEVERITY' : ''}) {
  listAlerts(input: {filter: {${field}: {greaterThan: $${field}}${severity}}, pageSize: $pageSize, next: $next}) {
    items { json severity created${updates} computer { hostName } }
    pageInfo { next total }
  }
}`;
}

/**
 * The field a GraphQL validation error says the schema does not have, as `Type.field`: AppSync
 * (graphql-java) words it "Validation error of type FieldUndefined: Field 'x' in type 'Alert' is
 * undefined" or "… contains a field not in 'AlertFiltersInput': 'x'"; graphql-js "Cannot query field
 * \"x\" on type \"Alert\"" or "Field \"x\" is not defined by type \"AlertFiltersInput\"".
 */
export function refusedFieldOf(message: string): string | undefined {
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [/Field '(\w+)' in type '(\w+)' is undefined/, (m) => `${m[2]}.${m[1]}`],
    [/contains a field not in '(\w+)': '(\w+)'/, (m) => `${m[1]}.${m[2]}`],
    [/Cannot query field "(\w+)" on type "(\w+)"/, (m) => `${m[2]}.${m[1]}`],
    [/Field "(\w+)" is not defined by type "(\w+)"/, (m) => `${m[2]}.${m[1]}`],
  ];
  for (const [pattern, name] of patterns) {
    const m = pattern.exec(message);
    if (m) return name(m);
  }
  return undefined;
}
