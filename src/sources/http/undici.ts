// undici, loaded with the first request that needs it (`await import('./undici.ts')`) rather than with
// Orchard: evaluating it took 53 ms of every command's start (0.55 CPU-s for `serve`), and an Orchard
// that pulls nothing, or a command that makes no HTTP request, never needs it.
export { Pool, request } from 'undici';
