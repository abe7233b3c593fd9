import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Orchard's own files beside the code (package.json, schemas/) are found by walking up from this
// module to the folder holding package.json: the code runs from src/ (tsx), dist/ (production) and
// build/src/ (the compiled tests), each at another depth below it.

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`Orchard's package.json was not found above ${from}.`);
  }
}

/** The folder holding Orchard's package.json, with a trailing slash, as a file: URL. */
export const packageRoot = pathToFileURL(`${findPackageRoot(dirname(fileURLToPath(import.meta.url)))}/`);

/** Orchard's package.json. */
export const packageJsonUrl = new URL('package.json', packageRoot);
