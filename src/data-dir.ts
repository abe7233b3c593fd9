import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError } from './errors.ts';
import { commandLine, isAlive } from './process-info.ts';

/** Creates the data directory (mode 0700) or explains in one sentence why it cannot be used. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DataDirError(`Cannot use ORCHARD_DATA_DIR=${dataDir}: ${describeFsError(err)}.`, err);
  }
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const meaning: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is not a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
  };
  return e.code ? `${e.code} (${meaning[e.code] ?? e.message})` : String(e.message ?? err);
}

/**
 * Holds `<data_dir>/orchard.lock` while this process uses the directory's embedded Redis, so a second
 * Orchard on the same directory refuses to start instead of taking the first one's Redis away. A lock
 * left by a process that is gone is taken over. Returns the release function (also run at exit).
 */
export function lockDataDir(dataDir: string): () => void {
  ensureDataDir(dataDir);
  return lockFile(
    join(dataDir, 'orchard.lock'),
    `ORCHARD_DATA_DIR=${dataDir}`,
    (holder) => `Another Orchard (pid ${holder}) is using ORCHARD_DATA_DIR=${dataDir} and its embedded Redis. Stop it first, or give this Orchard its own ORCHARD_DATA_DIR (or a REDIS_URL).`,
  );
}

/**
 * Holds `<dir>/spool.lock` while this process owns the spool in `dir` (`<data_dir>/spool`): two
 * processes appending to one spool would interleave their records. Same rules as lockDataDir.
 */
export function lockSpoolDir(dir: string, dataDir: string): () => void {
  return lockFile(
    join(dir, 'spool.lock'),
    `ORCHARD_DATA_DIR=${dataDir}`,
    (holder) => `Another Orchard (pid ${holder}) is using the spool in ORCHARD_DATA_DIR=${dataDir}. Each Orchard needs its own data directory (its own spool); give this one another ORCHARD_DATA_DIR.`,
  );
}

function lockFile(file: string, setting: string, heldBy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      const release = () => {
        process.off('exit', release);
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(`Cannot use ${setting}: ${describeFsError(err)}.`, err);
      }
      const holder = lockHolder(file);
      if (holder !== undefined && holder !== process.pid) throw new DataDirError(heldBy(holder));
      rmSync(file, { force: true }); // left behind by a process that is gone (or just released)
    }
  }
  throw new DataDirError(`Cannot lock ${file}: another process keeps taking it.`);
}

/** The pid of the live Orchard holding `<data_dir>/orchard.lock`, if any (a lock left by a process that is gone does not count). */
export function dataDirHolder(dataDir: string): number | undefined {
  return lockHolder(join(dataDir, 'orchard.lock'));
}

/** The pid of the live Orchard holding a lock file, if any. */
function lockHolder(file: string): number | undefined {
  let holder: number;
  try {
    holder = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(holder) && holder > 1 && isAlive(holder) && isNode(holder) ? holder : undefined;
}

/** Where /proc cannot tell (not Linux), assume it is. */
function isNode(pid: number): boolean {
  return commandLine(pid)?.includes('node') ?? true;
}
