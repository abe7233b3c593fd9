#!/usr/bin/env node
// The `orchard` command. Orchard runs its TypeScript sources through tsx (a runtime dependency),
// so a checkout works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/orchard.ts');
process.exitCode = await main(process.argv.slice(2));
