import type { SettingSchema } from './config-types.ts';
import { secretVariables } from './secret-files.ts';

// Step 3 of loading the configuration: the environment overrides the file. Each top-level setting
// with an `x-env` name in the schema is read from that variable, as the setting's type says.

function fromEnv(raw: string, setting: SettingSchema): unknown {
  switch (setting.type) {
    case 'integer':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : raw;
    }
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return raw;
  }
}

/**
 * Sets each setting whose variable is set (and not empty) on `settings`; returns which settings came
 * from which variable, so that problems name the variable the user set.
 */
export function overlayEnv(settings: Record<string, unknown>, properties: Readonly<Record<string, SettingSchema>>, env: NodeJS.ProcessEnv): Map<string, string> {
  const envSources = new Map<string, string>();
  for (const [key, setting] of Object.entries(properties)) {
    const name = setting['x-env'];
    if (!name) continue;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    settings[key] = fromEnv(raw, setting);
    envSources.set(key, name);
  }
  return envSources;
}

/** Environment variables that look like Orchard settings but are not: most often a typo. */
export function unknownEnvironmentSettings(env: NodeJS.ProcessEnv, properties: Readonly<Record<string, SettingSchema>>): string[] {
  const known = new Set(['ORCHARD_CONFIG', ...Object.values(properties).map((s) => s['x-env']).filter((n): n is string => !!n), ...secretVariables(properties).map((n) => `${n}_FILE`)]);
  return Object.keys(env)
    .filter((name) => name.startsWith('ORCHARD_') && !known.has(name))
    .map((name) => {
      const near = [...known].find((k) => k.startsWith(name) || name.startsWith(k));
      return `${name} is not an Orchard setting and is ignored${near ? ` (did you mean ${near}?)` : ''}; docs/settings.md lists the settings.`;
    });
}
