import { readFileSync } from 'node:fs';
import type { SettingSchema } from './config-types.ts';

// Step 0 of loading the configuration: `NAME_FILE` stands for `NAME`, its value read from that file,
// for every secret setting (REDIS_URL, ORCHARD_WEBHOOK_SECRETS, …) and every variable the file refers
// to as `${NAME}` (connector credentials). This is the convention of the official Docker images
// (POSTGRES_PASSWORD_FILE, https://hub.docker.com/_/postgres "Docker Secrets"): Docker secrets are
// files under /run/secrets (https://docs.docker.com/engine/swarm/secrets/), and systemd's
// LoadCredential= puts them under $CREDENTIALS_DIRECTORY
// (https://systemd.io/CREDENTIALS/), so a secret never has to sit in the environment.

/** The variables of the secret settings (those marked x-secret), each of which may come from NAME_FILE. */
export function secretVariables(properties: Readonly<Record<string, SettingSchema>>): string[] {
  return Object.values(properties)
    .filter((s) => s['x-secret'] && s['x-env'])
    .map((s) => s['x-env']!);
}

/**
 * The environment with each `NAME_FILE` of `names` read into `NAME`: the file's text less one trailing
 * newline (what `echo` or an editor leaves). Both set, or a file that cannot be read, is a problem
 * naming NAME_FILE; the file's content never appears in a message.
 */
export function readSecretFiles(env: NodeJS.ProcessEnv, names: Iterable<string>, problems: string[]): NodeJS.ProcessEnv {
  let result = env;
  for (const name of new Set(names)) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE and ${name} are both set: set one (${name}_FILE names a file holding the value)`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    if (result === env) result = { ...env };
    result[name] = text.replace(/\r?\n$/, '');
  }
  return result;
}
