// The versions of Jamf Pro's computers-inventory list and the sections each takes
// (deploymenttheory/go-sdk-jamfpro-v2: openapi-specs/11.30.1-t1784555528405/api-schema.json, the Jamf
// Pro API's own OpenAPI document: paths /v1…/v4/computers-inventory and the enums ComputerSection,
// ComputerSectionV2, V3 and V4). v1 is deprecated since 2025-06-30, v2 since 2025-11-06, v3 since
// 2026-07-14 (x-deprecation-date, from Jamf Pro 11.30.0); v4 first appears in Jamf Pro 11.30.0. Ids,
// `udid`, `general.reportDate` and the sort and filter on `id` are the same in all four, so records and
// checkpoints do not change with the version; v4 drops `general.lastReportedIp` and replaces
// `general.lastContactTime` with `general.lastCheckIn` and `general.lastContact`.

export const inventoryApiVersions = [1, 2, 3, 4] as const;
export type InventoryApiVersion = (typeof inventoryApiVersions)[number];

/** The newest version Orchard knows. */
export const newestInventoryVersion: InventoryApiVersion = 4;

/** The Jamf Pro release that first offers a version, where it is known (v4: 11.30.0). */
export const inventoryVersionSince: Partial<Record<InventoryApiVersion, readonly [number, number, number]>> = { 4: [11, 30, 0] };

/** Every section of v1, in the schema's order. */
export const inventorySectionsV1 = [
  'GENERAL', 'DISK_ENCRYPTION', 'PURCHASING', 'APPLICATIONS', 'STORAGE', 'USER_AND_LOCATION', 'CONFIGURATION_PROFILES', 'PRINTERS',
  'SERVICES', 'HARDWARE', 'LOCAL_USER_ACCOUNTS', 'CERTIFICATES', 'ATTACHMENTS', 'PLUGINS', 'PACKAGE_RECEIPTS', 'FONTS', 'SECURITY',
  'OPERATING_SYSTEM', 'LICENSED_SOFTWARE', 'IBEACONS', 'SOFTWARE_UPDATES', 'EXTENSION_ATTRIBUTES', 'CONTENT_CACHING', 'GROUP_MEMBERSHIPS',
] as const;

/** Sections v2, v3 and v4 dropped (ComputerSectionV2…V4 are v1's enum without them). */
export const sectionsDroppedAfterV1: readonly string[] = ['PLUGINS', 'FONTS'];

export function inventoryPathOf(version: InventoryApiVersion): string {
  return `/api/v${version}/computers-inventory`;
}

/** The version a computers-inventory path names, or undefined. */
export function inventoryVersionOf(path: string): InventoryApiVersion | undefined {
  const m = /\/api\/v(\d+)\/computers-inventory$/.exec(path);
  const v = m ? Number(m[1]) : NaN;
  return (inventoryApiVersions as readonly number[]).includes(v) ? (v as InventoryApiVersion) : undefined;
}

/** The sections a version does not take, of those asked for. */
export function sectionsNotIn(version: InventoryApiVersion, sections: readonly string[]): string[] {
  return version === 1 ? [] : sections.filter((s) => sectionsDroppedAfterV1.includes(s));
}

/** The configuration problem of asking `version` for sections it lacks, naming the setting; undefined when none. */
/** What is wrong with `sections` for this API version, as `sections: <problem>`; undefined when nothing is. */
export function sectionsProblem(version: InventoryApiVersion, sections: readonly string[], pinned: boolean): string | undefined {
  const missing = sectionsNotIn(version, sections);
  if (missing.length === 0) return undefined;
  const which = missing.join(' and ');
  return `sections: ${which} ${missing.length === 1 ? 'is not a section' : 'are not sections'} of ${inventoryPathOf(version)}${pinned ? ' (api_version ' + version + ')' : ', the newest version this Jamf Pro offers'}: Jamf Pro dropped PLUGINS and FONTS after v1. Remove ${which} from sections${pinned ? '' : ', or set api_version: 1 while Jamf Pro still serves v1 (deprecated since 2025-06-30)'}.`;
}
