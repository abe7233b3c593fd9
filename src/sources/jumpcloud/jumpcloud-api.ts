// What JumpCloud's two connector types (Directory Insights, system users) share about its API.

/** Paths of JumpCloud's API a base_url must not end in: the paths asked for, their leading parts, and the v2 API. */
export const jumpCloudApiPaths = [
  '/insights/directory/v1/events',
  '/insights/directory/v1',
  '/insights/directory',
  '/insights',
  '/api/systemusers',
  '/api/systems',
  '/api/organizations',
  '/api/v2',
  '/api',
] as const;
