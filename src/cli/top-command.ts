import type { Config } from '../config/config-types.ts';
import { parseDurationMs } from '../config/duration.ts';
import type { CommandIo } from './checkpoint-command.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { renderTop, renderUnreachable, type TopSample, type TopStatus } from './top-screen.ts';

// `orchard top`: a live view of a running Orchard, read from its /status and /metrics (the admin port
// when there is one) every second, as `vector top` shows Vector's. On a terminal the screen is redrawn
// in place (ANSI: cursor home, clear) until q or Ctrl-C; when stdout is not a terminal (a pipe, a
// script) one screen is printed and the command ends.

export interface TopOptions {
  readonly url?: string;
  readonly interval?: string;
}

export interface TopTerminal {
  readonly isTTY: boolean;
  /** The terminal's width: longer lines are cut rather than wrapped (undefined: not cut). */
  readonly columns?: number;
  /** Calls back on q, Q or Ctrl-C; returns the undo. */
  onQuit(callback: () => void): () => void;
}

/** Where /status and /metrics of the configured Orchard are: its admin listener, else the main one. */
export function topUrlFrom(config: Config): string {
  const [host, port] = config.adminPort !== undefined ? [config.adminHost, config.adminPort] : [config.host, config.port];
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const scheme = config.adminPort === undefined && config.tlsCertFile ? 'https' : 'http';
  return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** One sample of /status and /metrics; throws with a short reason when Orchard cannot be reached. */
export async function readTopSample(url: string, timeoutMs = 2000): Promise<TopSample> {
  const { request } = await import('../sources/http/undici.ts');
  const get = async (path: string) => {
    const res = await request(`${url}${path}`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}${res.statusCode === 404 ? ' (is this the admin port? /status is served there when ORCHARD_ADMIN_PORT is set)' : ''}`);
    return text;
  };
  const [status, metrics] = await Promise.all([get('/status'), get('/metrics')]);
  return { atMs: Date.now(), status: JSON.parse(status) as TopStatus, metrics: parsePrometheusText(metrics) };
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return e.cause?.code ?? e.code ?? e.message ?? String(err);
}

/** A terminal on process.stdin: raw mode while top runs, so q and Ctrl-C arrive as keys. */
export const processTerminal: TopTerminal = {
  isTTY: process.stdout.isTTY === true && process.stdin.isTTY === true,
  get columns() {
    return process.stdout.columns;
  },
  onQuit(callback) {
    const onKey = (key: Buffer) => {
      const k = key.toString();
      if (k === 'q' || k === 'Q' || k === '\u0003') callback();
    };
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', onKey);
    process.once('SIGINT', callback);
    process.once('SIGTERM', callback);
    return () => {
      process.stdin.off('data', onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.off('SIGINT', callback);
      process.off('SIGTERM', callback);
    };
  },
};

/** Returns the exit code: 0 quit (or one screen printed), 1 Orchard unreachable (one-screen mode), 2 bad option. */
export async function topCommand(options: TopOptions, io: CommandIo, config: () => Config, terminal: TopTerminal = processTerminal): Promise<number> {
  const intervalMs = options.interval === undefined ? 1000 : parseDurationMs(options.interval);
  if (intervalMs === undefined || intervalMs < 100) {
    io.err(`orchard top: --interval ${options.interval}: give a duration such as 1s or 500ms (at least 100ms).\n`);
    return 2;
  }
  if (options.url !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(options.url)) {
    io.err(`orchard top: --url ${options.url}: give Orchard's address without a path, such as http://127.0.0.1:9203.\n`);
    return 2;
  }
  const url = (options.url ?? topUrlFrom(config())).replace(/\/+$/, '');
  if (!terminal.isTTY) {
    try {
      io.out(`${renderTop(await readTopSample(url), undefined, url)}\n`);
      return 0;
    } catch (err) {
      io.err(`${renderUnreachable(url, reasonOf(err), Date.now()).split('\n')[0]}\n`);
      return 1;
    }
  }
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const undo = terminal.onQuit(quit);
  io.out('\u001b[?1049h\u001b[?25l'); // the alternate screen, cursor hidden: the shell's screen comes back on quit
  let before: TopSample | undefined;
  try {
    for (let done = false; !done; ) {
      let screen: string;
      try {
        const now = await readTopSample(url);
        screen = renderTop(now, before, url);
        before = now;
      } catch (err) {
        screen = renderUnreachable(url, reasonOf(err), Date.now());
        before = undefined;
      }
      const width = terminal.columns;
      const lines = screen.split('\n').map((line) => (width && line.length > width ? line.slice(0, width) : line));
      io.out(`\u001b[H\u001b[2J${lines.join('\r\n')}`);
      let timer: NodeJS.Timeout | undefined;
      done = await Promise.race([quitting.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), intervalMs)))]);
      clearTimeout(timer);
    }
  } finally {
    undo();
    io.out('\u001b[?25h\u001b[?1049l');
  }
  return 0;
}
