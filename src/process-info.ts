import { readFileSync } from 'node:fs';
import { packageJsonUrl } from './package-root.ts';

/** True when a process with that pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process's command line (arguments joined by spaces), or undefined where /proc cannot tell. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** Orchard's version, from its package.json. */
export function orchardVersion(): string {
  try {
    return (JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
