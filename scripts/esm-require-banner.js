// The banner of every ESM bundle esbuild writes (package.json: build, build:tests): bundled CommonJS
// dependencies call require and read __filename and __dirname, which ESM does not define.
import { createRequire as orchardCreateRequire } from 'node:module'; import { fileURLToPath as orchardFileURLToPath } from 'node:url'; const require = orchardCreateRequire(import.meta.url); const __filename = orchardFileURLToPath(import.meta.url); const __dirname = orchardFileURLToPath(new URL('.', import.meta.url));
