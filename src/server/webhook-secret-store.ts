import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, ensureDataDir } from '../data-dir.ts';
import { DataDirError } from '../errors.ts';

export const secretFileName = 'webhook-secret';

/** The secret kept in the data directory, if there is one. */
export function readWebhookSecret(dataDir: string): string | undefined {
  const file = join(dataDir, secretFileName);
  if (!existsSync(file)) return undefined;
  const secret = readFileSync(file, 'utf8').trim();
  return secret.length >= 16 ? secret : undefined;
}

/** Reads the generated webhook secret from the data directory, or generates and keeps one (mode 0600). */
export function loadOrCreateWebhookSecret(dataDir: string): { secret: string; file: string; created: boolean } {
  const file = join(dataDir, secretFileName);
  const kept = readWebhookSecret(dataDir);
  if (kept !== undefined) {
    chmodSync(file, 0o600);
    return { secret: kept, file, created: false };
  }
  ensureDataDir(dataDir);
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (err) {
    throw new DataDirError(`Cannot keep the generated webhook secret in ${file} (ORCHARD_DATA_DIR): ${describeFsError(err)}.`, err);
  }
  return { secret, file, created: true };
}

/** The JSON to paste into Jamf Pro's "Header Authentication" field. */
export function headerAuthenticationJson(header: string, secret: string): string {
  return JSON.stringify({ [header]: secret });
}
