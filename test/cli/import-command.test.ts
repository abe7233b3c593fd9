import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished as ended } from 'node:stream/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { importCommand, type ImportCommandOptions } from '../../src/cli/import-command.ts';
import { logErrorCodes } from '../../src/errors.ts';
import { hashTagOf, Keyspace } from '../../src/redis/keyspace.ts';
import { importScript } from '../../src/redis/scripts/import-script.ts';
import { RedisStreamSink } from '../../src/sink/redis-stream-sink.ts';
import { formatTime, recordFields } from '../../src/stream/stream-record.ts';
import { logRecord } from '../../src/sources/jamf-pro-logs/log-records.ts';
import { complianceReporterCorpus } from '../helpers/compliance-reporter-corpus.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import { killOrchard, runOrchard, type OrchardProcess } from '../helpers/orchard-process.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitForReady } from '../helpers/test-app.ts';
import { packageRoot } from '../../src/package-root.ts';
import { capturedIo } from '../helpers/orchard-here.ts';

let server: TestRedis;
let redis: Redis;
let dir: string;
let bigFile: string;
// Big enough for many batches (500 lines each) on both sides of where the tests stop the import, at
// the batch after line heldLine: 6 batches before it, 5 after.
const bigLines = 6_000;
const heldLine = 3_000;

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** A distinct access-log line per n. */
function accessLine(n: number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + n * 37).toISOString().replace('.', ',').replace('Z', '');
  return `[JSSACCESSLOG] ${t} - username=user${n}@example.com, status=Successful Login, ipAddress=10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}, entryPoint=Universal API`;
}

async function writeLines(path: string, count: number, line: (n: number) => string): Promise<void> {
  const out = createWriteStream(path);
  for (let n = 0; n < count; n++) if (!out.write(`${line(n)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

before(async () => {
  server = await TestRedis.start();
  redis = server.client();
  await waitForReady(redis);
  dir = mkdtempSync(join(tmpdir(), 'orchard-import-test-'));
  bigFile = join(dir, 'big-access.log');
  await writeLines(bigFile, bigLines, accessLine);
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Streams {
  readonly stream: string;
  readonly rejected: string;
}

let streamCount = 0;
/** A fresh pair of streams sharing a hash tag, so each test sees only its own imports. */
function freshStreams(): Streams {
  const tag = `{imp${streamCount++}${Math.random().toString(36).slice(2, 6)}}`;
  return { stream: `${tag}:events`, rejected: `${tag}:rejected` };
}

function envFor(s: Streams, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: server.url, ORCHARD_DATA_DIR: join(dir, 'data'), ORCHARD_STREAM: s.stream, ORCHARD_REJECTED_STREAM: s.rejected, ...extra };
}

async function finished(proc: OrchardProcess): Promise<{ code: number | null; out: string; err: string }> {
  const { code } = await proc.exited;
  // What it wrote last may still be in the pipes at its exit: readline has every line once they ended.
  await Promise.all([ended(proc.child.stdout!), ended(proc.child.stderr!)]);
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n') };
}

/** `orchard import` as a process: for what only the real command shows (its configuration, exit code, signals, stdin). */
function orchardImport(s: Streams, args: string[], extra: Record<string, string> = {}) {
  return finished(runOrchard(envFor(s, extra), ['import', ...args]));
}

/**
 * `orchard import` in this process: what the command runs (orchard.ts hands it the same arguments and
 * returns its exit code), without starting Node (0.3–0.5 CPU-s each time).
 */
async function importHere(s: Streams, args: string[], options: Partial<ImportCommandOptions> = {}): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = capturedIo();
  const code = await importCommand(args, io, redis, {
    stream: s.stream,
    rejectedStream: s.rejected,
    tty: false,
    ...options,
  });
  return { code, out: out(), err: err() };
}

type Fields = Record<string, string>;

async function entries(stream: string): Promise<Fields[]> {
  const out: Fields[] = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 5000)) as [string, string[]][];
    for (const [, flat] of page) {
      const fields: Fields = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      out.push(fields);
    }
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/** The progress key of a file: its decoded content (raw bytes for damaged gzip data), --type and --tenant. */
function progressKey(s: Streams, content: Buffer | string, type = 'auto', tenant = ''): string {
  return new Keyspace(s.stream).importProgress(sha256(content), type, tenant);
}

function summaryOf(out: string, file: string): string {
  const line = out.split('\n').find((l) => l.startsWith(`${file}: `));
  assert.ok(line, `a summary line for ${file} in:\n${out}`);
  return line;
}

const accessFixture = fixtureBytes('jamf_pro/access/test-access.log');
const accessFixtureLines = String(accessFixture).split('\n').filter((l) => l !== '');
const changeLines = (JSON.parse(String(fixtureBytes('jamf_pro/change_management/test-change-management.json'))) as { events: { event: { original: string } }[] }).events.map(
  (e) => e.event.original,
);

describe('orchard import: every line lands once, with the right source, type and id', () => {
  test('the access-log fixture (S3 NDJSON): 10 records, source jamf_pro.login, id the sha256 of the line; --tenant', async () => {
    const s = freshStreams();
    const file = join(dir, 'access.log');
    writeFileSync(file, accessFixture);
    const r = await orchardImport(s, ['--tenant', 'acme', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, file), /: 10 lines: 10 appended, 0 already in the stream, 0 rejected, 0 empty, 0 skipped \(already imported\); [\d.]+ s, \d+ lines\/s$/);
    assert.match(r.err, /hashing .*access\.log…/);
    const got = await entries(s.stream);
    assert.deepEqual(
      got.map((e) => e.id),
      accessFixtureLines.map((l) => sha256(l)),
    );
    for (const [i, e] of got.entries()) {
      assert.deepEqual(Object.keys(e), ['v', ...recordFields]);
      assert.equal(e.v, '1');
      assert.equal(e.source, 'jamf_pro.login');
      assert.equal(e.type, 'Jamfpro.Login');
      assert.equal(e.tenant, 'acme');
      assert.equal(e.connector, 'import');
      assert.equal((JSON.parse(e.payload!) as { message: string }).message, (JSON.parse(accessFixtureLines[i]!) as { message: string }).message);
    }
    assert.equal(await redis.exists(s.rejected), 0, 'nothing rejected');
    const key = progressKey(s, accessFixture, 'auto', 'acme');
    assert.match(key, /^\{imp\w+\}:import:[0-9a-f]{64}:auto:[0-9a-f]{16}$/);
    const progress = await redis.hgetall(key);
    assert.equal(progress.lines, '10');
    assert.equal(progress.appended, '10');
    assert.equal(progress.duplicates, '0');
    assert.equal(progress.rejected, '0');
    assert.equal(progress.done, '1');
    assert.equal(progress.file, file);
    assert.match(progress.started!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(progress.updated!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // The same file again, under another name too, and its gzip copy, by another process (one for the
    // three: each file's progress record is looked up on its own): nothing is appended.
    const copy = join(dir, 'access-renamed.log');
    writeFileSync(copy, accessFixture);
    const gzipped = join(dir, 'access-copy.log.gz');
    writeFileSync(gzipped, gzipSync(accessFixture));
    const again = await orchardImport(s, ['--tenant', 'acme', file, copy, gzipped]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, new RegExp(`${file}: already imported on ${progress.updated}: nothing to do`));
    assert.match(summaryOf(again.out, copy), /already imported on .*: nothing to do/);
    assert.match(summaryOf(again.out, gzipped), /already imported on .*: nothing to do/);
    assert.equal(await redis.xlen(s.stream), 10);
  });

  test('a gzipped copy named .log is recognised by its magic bytes', async () => {
    const s = freshStreams();
    const file = join(dir, 'access-gzipped.log');
    writeFileSync(file, gzipSync(accessFixture));
    const r = await importHere(s, ['--type', 'jamf_pro.login', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, file), /: 10 lines: 10 appended, 0 already in the stream, 0 rejected/);
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      accessFixtureLines.map((l) => sha256(l)),
    );
  });

  test('change-management lines (the S3 wrapper, details with escaped newlines)', async () => {
    const s = freshStreams();
    const file = join(dir, 'change.log');
    writeFileSync(file, `${changeLines.join('\n')}\n`);
    const r = await importHere(s, ['--type', 'jamf_pro.change_management', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, file), new RegExp(`: ${changeLines.length} lines: ${changeLines.length} appended, 0 already in the stream, 0 rejected`));
    const got = await entries(s.stream);
    assert.equal(got.length, changeLines.length);
    for (const [i, e] of got.entries()) {
      const expected = logRecord({ text: changeLines[i]!, tenant: '', connector: 'import', receivedMs: 0 });
      assert.ok(expected.ok);
      assert.equal(e.id, sha256(changeLines[i]!));
      assert.equal(e.source, 'jamf_pro.change_management');
      assert.equal(e.type, expected.record.type);
      assert.equal(e.time, expected.record.time);
      assert.equal(e.payload, expected.record.payload);
    }
  });

  const corpus = complianceReporterCorpus({ seed: 20261122, count: 400 });

  for (const shape of ['NDJSON', 'a JSON array'] as const) {
    test(`generated Compliance Reporter events as ${shape}: type = event name, time from the header, payload = the text`, async () => {
      const s = freshStreams();
      const file = join(dir, shape === 'NDJSON' ? 'compliance.ndjson' : 'compliance.json');
      writeFileSync(file, shape === 'NDJSON' ? corpus.map((e) => e.text).join('\n') : `[\n${corpus.map((e) => `  ${e.text}`).join(',\n')}\n]\n`);
      const r = await importHere(s, [file]);
      assert.equal(r.code, 0, r.err);
      assert.match(summaryOf(r.out, file), new RegExp(`: ${corpus.length} lines: ${corpus.length} appended, 0 already in the stream, 0 rejected, 0 empty, 0 skipped`));
      const got = await entries(s.stream);
      assert.equal(got.length, corpus.length);
      for (const [i, e] of got.entries()) {
        assert.equal(e.id, sha256(corpus[i]!.text));
        assert.equal(e.source, 'jamf_pro.compliance_reporter');
        assert.equal(e.type, corpus[i]!.eventName);
        assert.equal(e.time, formatTime(corpus[i]!.timeMs));
        assert.equal(e.payload, corpus[i]!.text);
        assert.equal(e.connector, 'import');
      }
    });
  }

  test('several files at once: a summary per file and a total', async () => {
    const s = freshStreams();
    const a = join(dir, 'several-a.log');
    const b = join(dir, 'several-b.log');
    writeFileSync(a, accessFixture);
    writeFileSync(b, `${changeLines.join('\n')}\n`);
    const r = await importHere(s, [a, b]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, a), /: 10 lines: 10 appended/);
    assert.match(summaryOf(r.out, b), new RegExp(`: ${changeLines.length} lines: ${changeLines.length} appended`));
    assert.match(r.out, new RegExp(`^total \\(2 of 2 files\\): ${10 + changeLines.length} lines: ${10 + changeLines.length} appended, 0 already in the stream, 0 rejected`, 'm'));
  });

  test('stdin (-): copied, hashed and imported; the same input again appends nothing; the copy is removed', async () => {
    const s = freshStreams();
    const tmp = join(dir, 'tmp-stdin');
    mkdirSync(tmp);
    // The process's own stdin, the first time.
    const first = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/orchard.js', 'import', '-'], {
        cwd: fileURLToPath(packageRoot),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TMPDIR: tmp, ...envFor(s) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('close', (code) => resolve({ code, out, err }));
      child.stdin.end(gzipSync(accessFixture));
    });
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^stdin: 10 lines: 10 appended/m);
    const second = await importHere(s, ['-'], { stdin: Readable.from([gzipSync(accessFixture)]), tmpDir: tmp });
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /^stdin: already imported on .*: nothing to do/m);
    assert.equal(await redis.xlen(s.stream), 10);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('orchard-import-')), [], 'the temporary copy is gone');
  });

  test('an empty file: nothing to import, and it is marked done', async () => {
    const s = freshStreams();
    const file = join(dir, 'empty.log');
    writeFileSync(file, '');
    const r = await importHere(s, [file]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, file), /: 0 lines: 0 appended, 0 already in the stream, 0 rejected/);
    assert.equal(await redis.hget(progressKey(s, ''), 'done'), '1');
  });
});

describe('orchard import: refused lines are kept with their reason, file and line', () => {
  test('refused lines keep the rejected stream near ORCHARD_REJECTED_STREAM_MAX_LEN, the newest last', async () => {
    const s = freshStreams();
    const file = join(dir, 'refused.log');
    writeFileSync(file, Array.from({ length: 400 }, (_v, i) => `[FOO] line ${i}`).join('\n'));
    const r = await orchardImport(s, [file], { ORCHARD_REJECTED_STREAM_MAX_LEN: '10' });
    assert.equal(r.code, 1, r.err); // every line of the file was refused
    assert.match(summaryOf(r.out, file), /: 400 lines: 0 appended, 0 already in the stream, 400 rejected/);
    const length = await redis.xlen(s.rejected);
    assert.ok(length >= 10 && length <= 110, `XLEN ${length}`);
    assert.equal((await entries(s.rejected)).at(-1)!.payload, '[FOO] line 399');
  });

  test('malformed lines, an unknown tag and a 2 MB line are rejected, empty lines ignored, the good lines land', async () => {
    const s = freshStreams();
    const file = join(dir, 'mixed.log');
    const good1 = accessLine(1);
    const truncated = '{"time":"2026-09-23T19:52:07.25531106Z","message":"[JSSACCESSLOG] 2026-09-23T19:52:07,254 - usern';
    const foo = '[FOO] 2026-09-23T19:52:07,254 something else';
    const huge = `{"time":"2026-09-23T19:52:07Z","message":"[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=${'a'.repeat(2 * 1024 * 1024)}, status=x, entryPoint=y"}`;
    const good2 = accessFixtureLines[3]!;
    const good3 = complianceReporterCorpus({ seed: 3, count: 1 })[0]!.text;
    // Lines: 1 good, 2 empty, 3 truncated JSON, 4 [FOO], 5 blank, 6 huge, 7 good (CRLF), 8 good without a final newline.
    writeFileSync(file, `${good1}\n\n${truncated}\n${foo}\n   \n${huge}\n${good2}\r\n${good3}`);
    const r = await importHere(s, [file]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      summaryOf(r.out, file),
      /: 8 lines: 3 appended, 0 already in the stream, 3 rejected \(ORCHARD_ERR_LOG_MALFORMED_JSON: 1, ORCHARD_ERR_LOG_TOO_LARGE: 1, ORCHARD_ERR_LOG_UNRECOGNISED: 1\), 2 empty, 0 skipped/,
    );
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      [good1, good2, good3].map((l) => sha256(l)),
    );
    const rejected = await entries(s.rejected);
    assert.equal(rejected.length, 3);
    for (const e of rejected) {
      assert.deepEqual(Object.keys(e), ['v', 'reason', 'source', 'received', 'remote', 'payload']);
      assert.equal(e.v, '1');
      assert.equal(e.remote, 'import');
      assert.match(e.received!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const reasons = rejected.map((e) => JSON.parse(e.reason!) as { code: string; message: string; details: unknown[]; file: string; line: number });
    assert.deepEqual(
      reasons.map((x) => [x.code, x.file, x.line]),
      [
        [logErrorCodes.malformedJson, file, 3],
        [logErrorCodes.unrecognised, file, 4],
        [logErrorCodes.tooLarge, file, 6],
      ],
    );
    assert.deepEqual(
      rejected.map((e) => e.source),
      ['jamf_pro.login', 'jamf_pro.logs', 'jamf_pro.login'],
      'the source the line looks like, jamf_pro.logs when it cannot be told',
    );
    assert.equal(rejected[0]!.payload, truncated);
    assert.equal(rejected[1]!.payload, foo);
    assert.equal(rejected[2]!.payload, huge.slice(0, 64 * 1024), 'the first 64 KiB of the long line');
    assert.match(reasons[2]!.message, new RegExp(`line is ${huge.length} bytes, more than the 1048576 accepted; the payload keeps its first 65536 bytes only`));
  });

  test('--type jamf_pro.login on a Compliance Reporter file: every line refused as the wrong type', async () => {
    const s = freshStreams();
    const corpus = complianceReporterCorpus({ seed: 11, count: 30 });
    const file = join(dir, 'compliance-wrong-type.ndjson');
    writeFileSync(file, `${corpus.map((e) => e.text).join('\n')}\n`);
    const r = await importHere(s, ['--type', 'jamf_pro.login', file]);
    assert.equal(r.code, 1, 'every line refused: exit 1');
    assert.match(
      summaryOf(r.out, file),
      new RegExp(
        `: 30 lines: 0 appended, 0 already in the stream, 30 rejected \\(${logErrorCodes.wrongType}: 30\\), .*; nothing imported: every line was refused \\(30 lines, kept in the rejected stream\\); ` +
          'they are jamf_pro\\.compliance_reporter lines: import the file again with --type jamf_pro\\.compliance_reporter$',
      ),
    );
    assert.equal(await redis.exists(s.stream), 0);
    const rejected = await entries(s.rejected);
    assert.equal(rejected.length, 30);
    for (const [i, e] of rejected.entries()) {
      const reason = JSON.parse(e.reason!) as { code: string; message: string; details: { detected: string; expected: string }[]; line: number };
      assert.equal(reason.code, logErrorCodes.wrongType);
      assert.equal(reason.line, i + 1);
      assert.deepEqual(reason.details, [{ detected: 'jamf_pro.compliance_reporter', expected: 'jamf_pro.login' }]);
      assert.match(reason.message, /jamf_pro\.compliance_reporter line, and --type jamf_pro\.login was given/);
      assert.equal(e.payload, corpus[i]!.text);
    }

    // The wrong --type is no dead end: the right one imports the file; the wrong one again still says so.
    const right = await importHere(s, ['--type', 'jamf_pro.compliance_reporter', file]);
    assert.equal(right.code, 0, right.err);
    assert.match(summaryOf(right.out, file), /: 30 lines: 30 appended, 0 already in the stream, 0 rejected, 0 empty, 0 skipped \(already imported\); [\d.]+ s, \d+ lines\/s$/, 'no advice');
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      corpus.map((e) => sha256(e.text)),
    );
    const wrongAgain = await importHere(s, ['--type', 'jamf_pro.login', file]);
    assert.equal(wrongAgain.code, 1);
    assert.match(summaryOf(wrongAgain.out, file), /already imported on .*; every line was refused then \(30 rejected, kept in the rejected stream\): nothing to do$/);
    assert.equal(await redis.xlen(s.rejected), 30, 'nothing rejected twice');
  });

  test('--type on a mixed file: the lines of another kind are refused, and the summary names the --type that adds them', async () => {
    const s = freshStreams();
    const file = join(dir, 'mixed-kinds.log');
    writeFileSync(file, `${accessFixtureLines.slice(0, 3).join('\n')}\n${changeLines.slice(0, 2).join('\n')}\n`);
    const err: string[] = [];
    const out: string[] = [];
    const run = (type: string) =>
      importCommand(['--type', type, file], { out: (t) => void out.push(t), err: (t) => void err.push(t) }, redis, { stream: s.stream, rejectedStream: s.rejected, tty: false });
    assert.equal(await run('jamf_pro.login'), 0, 'some lines appended: exit 0');
    assert.match(
      out.join(''),
      /: 5 lines: 3 appended, 0 already in the stream, 2 rejected \(ORCHARD_ERR_LOG_WRONG_TYPE: 2\), .* lines\/s; 2 lines refused as jamf_pro\.change_management: to add them, import the file again with --type jamf_pro\.change_management\n$/,
    );
    out.length = 0;
    assert.equal(await run('jamf_pro.change_management'), 0);
    assert.match(out.join(''), /: 5 lines: 2 appended, 0 already in the stream, 3 rejected \(ORCHARD_ERR_LOG_WRONG_TYPE: 3\)/);
    assert.equal(await redis.xlen(s.stream), 5, 'every line once');
  });
});

describe('orchard import: lines already in the stream', () => {
  test('a line whose dedup key exists (pushed within the dedup window) is skipped and counted; the import sets no dedup key', async () => {
    const s = freshStreams();
    const lines = [accessLine(101), accessLine(102), accessLine(103)];
    const file = join(dir, 'already-pushed.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // The key the push route (/jamf-pro-logs) sets for a line it appended.
    const sink = new RedisStreamSink({ redis, stream: s.stream, rejectedStream: s.rejected, dedupWindowSeconds: 60, appendTimeoutMs: 5000 });
    const dedupKey = (line: string) => sink.dedupKey('jamf_pro.login', sha256(line));
    assert.equal(dedupKey(lines[1]!), `${hashTagOf(s.stream)}:dedup:jamf_pro.login:${sha256(lines[1]!)}`);
    await redis.set(dedupKey(lines[1]!), '1-0 x', 'EX', 60);
    const r = await importHere(s, [file]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, file), /: 3 lines: 2 appended, 1 already in the stream, 0 rejected, 0 empty, 0 skipped/);
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      [lines[0]!, lines[2]!].map((l) => sha256(l)),
    );
    const progress = await redis.hgetall(progressKey(s, `${lines.join('\n')}\n`));
    assert.deepEqual([progress.lines, progress.appended, progress.duplicates, progress.rejected, progress.done], ['3', '2', '1', '0', '1']);
    assert.equal(await redis.exists(dedupKey(lines[0]!), dedupKey(lines[2]!)), 0, 'no dedup key set by the import');
    assert.equal(await redis.get(dedupKey(lines[1]!)), '1-0 x', 'the existing key untouched');
  });
});

describe('orchard import: files that cannot be read', () => {
  test('a missing file: exit 1, the path named; the other files are still imported', async () => {
    const s = freshStreams();
    const missing = join(dir, 'no-such-file.log');
    const file = join(dir, 'present.log');
    writeFileSync(file, accessFixture);
    const r = await orchardImport(s, [missing, file]);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`orchard import: ${missing}: cannot read it: no such file`));
    assert.match(summaryOf(r.out, file), /: 10 lines: 10 appended/);
  });

  test('a truncated gzip file: the lines before the damage land, the error names the file, exit 1; again: nothing more', async () => {
    const s = freshStreams();
    const lines = Array.from({ length: 6_000 }, (_, n) => accessLine(n));
    const whole = gzipSync(`${lines.join('\n')}\n`);
    const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
    const file = join(dir, 'truncated.log.gz');
    writeFileSync(file, cut);
    const r = await importHere(s, [file]);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`orchard import: ${file}: reading stopped after line \\d+: the gzip data is damaged or truncated`));
    const got = await entries(s.stream);
    assert.ok(got.length > 1000 && got.length < lines.length, `${got.length} lines landed`);
    assert.deepEqual(
      got.map((e) => e.id),
      lines.slice(0, got.length).map((l) => sha256(l)),
      'the lines before the damage, in order',
    );
    const progress = await redis.hgetall(progressKey(s, cut));
    assert.equal(progress.lines, String(got.length));
    assert.equal(progress.done, undefined);
    const again = await importHere(s, [file]);
    assert.equal(again.code, 1);
    assert.equal(await redis.xlen(s.stream), got.length, 'nothing appended twice');
  });
});

describe('orchard import: exactly once across crashes and interruptions', () => {
  test('a progress record left at line N by an earlier run: the next run appends lines N+1… only', async () => {
    const s = freshStreams();
    const lines = Array.from({ length: 1500 }, (_, n) => accessLine(n));
    const content = `${lines.join('\n')}\n`;
    const file = join(dir, 'resume.log');
    writeFileSync(file, content);
    const key = progressKey(s, content);
    await redis.hset(key, 'lines', '700', 'appended', '700', 'rejected', '0', 'file', file, 'started', '2026-01-01T00:00:00.000Z', 'updated', '2026-01-01T00:00:00.000Z');
    const r = await importHere(s, [file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /resuming after line 700/);
    assert.match(summaryOf(r.out, file), /: 1500 lines: 800 appended, 0 already in the stream, 0 rejected, 0 empty, 700 skipped \(already imported\)/);
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      lines.slice(700).map((l) => sha256(l)),
    );
    const progress = await redis.hgetall(key);
    assert.deepEqual([progress.lines, progress.appended, progress.done, progress.started], ['1500', '1500', '1', '2026-01-01T00:00:00.000Z']);
  });

  async function assertWholeFileOnce(s: Streams): Promise<void> {
    const got = await entries(s.stream);
    assert.equal(got.length, bigLines);
    for (let n = 0; n < bigLines; n++) {
      if (got[n]!.id !== sha256(accessLine(n))) assert.fail(`entry ${n} is not line ${n + 1}`);
    }
  }

  /**
   * Runs `orchard import` on the big file through a proxy that holds back its traffic to Redis from
   * the batch holding line `line` + 1 on: the import is then surely in the middle of the file,
   * waiting for that batch's answer, whatever the machine's speed.
   */
  async function importHeldAt(t: TestContext, s: Streams, line: number) {
    const proxy = await TcpProxy.start(server.port);
    t.after(() => proxy.close());
    const held = proxy.holdFrom(`user${line}@example.com`);
    const proc = runOrchard(envFor(s, { REDIS_URL: `redis://127.0.0.1:${proxy.port}` }), ['import', bigFile]);
    t.after(() => killOrchard(proc));
    await Promise.race([held, proc.exited.then(() => Promise.reject(new Error(`the import ended before line ${line + 1}: ${proc.stderr.join('\n')}`)))]);
    return { proc, proxy };
  }

  test(`SIGKILL in the middle of a ${bigLines}-line import, then the same command: every line exactly once, in order`, async (t) => {
    const s = freshStreams();
    const key = progressKey(s, readFileSync(bigFile));
    const { proc } = await importHeldAt(t, s, heldLine);
    proc.child.kill('SIGKILL');
    await proc.exited;
    const progress = await redis.hgetall(key);
    const committed = Number(progress.lines);
    assert.ok(committed > 0 && committed <= heldLine, `killed in the middle, with nothing from the held batch on committed (${committed} lines)`);
    assert.equal(progress.done, undefined);
    assert.equal(await redis.xlen(s.stream), committed, 'the stream holds exactly the committed lines');
    assert.equal(Number(progress.appended), committed);
    const r = await orchardImport(s, [bigFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(summaryOf(r.out, bigFile), new RegExp(`: ${bigLines} lines: ${bigLines - committed} appended, 0 already in the stream, 0 rejected, 0 empty, ${committed} skipped`));
    await assertWholeFileOnce(s);
  });

  test('SIGINT: the batch in flight is finished, the summary so far printed, exit 130; the same command then completes', async (t) => {
    const s = freshStreams();
    const key = progressKey(s, readFileSync(bigFile));
    const { proc, proxy } = await importHeldAt(t, s, heldLine);
    proc.child.kill('SIGINT');
    // The batch in flight reaches Redis after the signal: the import finishes it, then stops.
    proxy.release();
    const r = await finished(proc);
    assert.equal(r.code, 130, r.err);
    assert.match(r.out, /interrupted; run the same command again to resume/);
    const summary = summaryOf(r.out, bigFile);
    const appended = Number(/: (\d+) lines: (\d+) appended/.exec(summary)![2]);
    // The batches before the held one, and the held one, in flight at the signal, were committed; and
    // the import stopped soon after (it reads on only while fewer than two batches are in flight),
    // batches away from the end of the file.
    assert.ok(appended > heldLine && appended < bigLines, summary);
    assert.equal(await redis.xlen(s.stream), appended, 'the summary matches the stream');
    assert.equal(await redis.hget(key, 'lines'), String(appended));
    const again = await orchardImport(s, [bigFile]);
    assert.equal(again.code, 0, again.err);
    assert.match(summaryOf(again.out, bigFile), new RegExp(`${bigLines - appended} appended, 0 already in the stream, 0 rejected, 0 empty, ${appended} skipped`));
    await assertWholeFileOnce(s);
  });

  test('the import script: a batch fenced on a stale count writes nothing; a batch sent twice is applied once', async () => {
    const s = freshStreams();
    const key = `${hashTagOf(s.stream)}:import:script-test`;
    const dedup = (writer: string) => `${hashTagOf(s.stream)}:dedup:x:${writer}`;
    if (!('orchardImportTest' in redis)) redis.defineCommand('orchardImportTest', { lua: importScript.text, numberOfKeys: 4 });
    const call = (expected: string, next: string, writer: string) => {
      const record = recordFields.map((f) => `${f}-${writer}`);
      return (redis as unknown as { orchardImportTest: (...a: string[]) => Promise<[string, string, string]> }).orchardImportTest(
        s.stream, s.rejected, key, dedup(writer), expected, next, writer, 'f.log', '2026-01-01T00:00:00.000Z', '0', '1', '1', '0', ...record, '{"code":"X"}', 'jamf_pro.logs', 'r', 'import', 'bad line',
      );
    };
    assert.deepEqual(await call('0', '2', 'w1'), ['ok', '2', '0']);
    assert.deepEqual(await call('0', '2', 'w1'), ['done', '2', '0'], 'the same batch again (a resend): not applied twice');
    assert.deepEqual(await call('0', '2', 'w2'), ['stale', '2', '0'], 'another import that started from 0');
    assert.deepEqual(await call('1', '3', 'w3'), ['stale', '2', '0']);
    assert.equal(await redis.xlen(s.stream), 1);
    assert.equal(await redis.xlen(s.rejected), 1);
    // A record whose dedup key exists is not appended: a duplicate, also in the answer to a resend.
    await redis.set(dedup('w4'), '1-0 x', 'EX', 60);
    assert.deepEqual(await call('2', '3', 'w4'), ['ok', '3', '1']);
    assert.deepEqual(await call('2', '3', 'w4'), ['done', '3', '1']);
    assert.equal(await redis.xlen(s.stream), 1);
    assert.equal(await redis.xlen(s.rejected), 2);
    assert.deepEqual(await redis.hgetall(key), {
      lines: '3',
      appended: '1',
      duplicates: '1',
      rejected: '2',
      file: 'f.log',
      started: '2026-01-01T00:00:00.000Z',
      updated: '2026-01-01T00:00:00.000Z',
      writer: 'w4',
      writerDuplicates: '1',
    });
  });

  test('two imports of the same file at once: one of them stops with a conflict, and nothing is appended twice', async () => {
    const s = freshStreams();
    const lines = Array.from({ length: 3000 }, (_, n) => accessLine(n));
    const file = join(dir, 'concurrent.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = (err: string[], out: string[]) =>
      importCommand([file], { out: (t) => void out.push(t), err: (t) => void err.push(t) }, redis, { stream: s.stream, rejectedStream: s.rejected, tty: false, batchLines: 50 });
    const errs: [string[], string[]] = [[], []];
    const outs: [string[], string[]] = [[], []];
    const codes = await Promise.all([run(errs[0], outs[0]), run(errs[1], outs[1])]);
    const got = await entries(s.stream);
    assert.equal(new Set(got.map((e) => e.id)).size, got.length, 'no line twice');
    if (codes.includes(1)) assert.match([...errs[0], ...errs[1]].join(''), /another import of the same file is running/);
    // Whatever happened, running it again completes the file exactly once.
    const last = await run([], []);
    assert.equal(last, 0);
    assert.deepEqual(
      (await entries(s.stream)).map((e) => e.id),
      lines.map((l) => sha256(l)),
    );
  });
});

describe('orchard import: output and usage', () => {
  test('on a terminal: a progress bar on stderr, removed before the summary', async (t) => {
    const s = freshStreams();
    const file = join(dir, 'tty.log');
    // 860 KB, read in 256 KiB chunks: the import reads no further than its first three batches (1,500
    // lines, 216 KB) before the first, held below, is answered, and has chunks left to read after.
    await writeLines(file, 6_000, accessLine);
    // The bar is drawn 5 times a second at most (by Date.now). Here the clock stands still, and moves on
    // once, while the first batch is held on its way to Redis: the next chunk read draws the bar, once,
    // however fast or slow the machine.
    let now = Date.now();
    t.mock.method(Date, 'now', () => now);
    const proxy = await TcpProxy.start(server.port);
    t.after(() => proxy.close());
    const client = new Redis<'legacy'>(proxy.port, '127.0.0.1', { protocol: 2 });
    t.after(() => client.disconnect());
    const held = proxy.holdFrom('user100@example.com');
    const err: string[] = [];
    const out: string[] = [];
    const importing = importCommand([file], { out: (text) => void out.push(text), err: (text) => void err.push(text) }, client, {
      stream: s.stream,
      rejectedStream: s.rejected,
      tty: true,
    });
    await Promise.race([held, importing.then(() => Promise.reject(new Error(`the import ended before its first batch: ${err.join('')}`)))]);
    now += 200;
    proxy.release();
    assert.equal(await importing, 0);
    const bars = err.filter((text) => text.startsWith('\r') && text.includes('lines/s'));
    assert.equal(bars.length, 1, 'the bar was drawn, once: the clock moved once');
    assert.match(bars[0]!, /^\r.*tty\.log \[[#.]{24}\] \d+% [\d.]+\/[\d.]+ MB {2}[\d,]+ lines\/s {2}appended [\d,]+ {2}already in the stream 0 {2}rejected 0\x1b\[K$/);
    assert.equal(err[err.length - 1], '\r\x1b[K', 'the bar is cleared at the end');
    assert.match(out.join(''), /: 6000 lines: 6000 appended/);
  });

  test('usage errors exit 2 with the usage text', async () => {
    const s = freshStreams();
    const usage = /Usage: orchard import \[--type auto\|jamf_pro\.login\|jamf_pro\.change_management\|jamf_pro\.compliance_reporter\] \[--tenant T\] \[--config FILE\] FILE…/;
    // The command itself, once: a usage error is exit code 2 and the usage text on stderr.
    const r = await orchardImport(s, ['--type', 'nope', 'f.log']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, usage);
    assert.match(r.err, /--type nope: give one of auto, jamf_pro\.login, jamf_pro\.change_management, jamf_pro\.compliance_reporter/);
    // What is a usage error is parseImportArgs's to say, which importCommand asks as the command does.
    for (const args of [[], ['--type', 'jamf_pro.logins', 'f.log'], ['--bogus', 'f.log'], ['--type'], ['-', '-']]) {
      const here = await importHere(s, args);
      assert.equal(here.code, 2, `${args.join(' ')}: ${here.err}`);
      assert.match(here.err, usage);
    }
    const none = await importHere(s, []);
    assert.match(none.err, /no FILE/);
  });
});
