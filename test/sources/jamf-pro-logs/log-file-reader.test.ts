import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readDecoded, readLogFile, type LogFileItem, type LogFileReaderOptions } from '../../../src/sources/jamf-pro-logs/log-file-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'orchard-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string | Buffer, name = `f${files++}.log`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, options: LogFileReaderOptions = {}): Promise<LogFileItem[]> {
  const out: LogFileItem[] = [];
  for await (const item of readLogFile(path, options)) out.push(item);
  return out;
}

const texts = (items: LogFileItem[]) => items.map((i) => i.text);
const access = (n: number) => `[JSSACCESSLOG] 2026-09-23T19:52:07,${String(n).padStart(3, '0')} - username=u${n}, status=Successful Login, ipAddress=10.0.0.${n}, entryPoint=Universal API`;

test('plain lines: numbered from 1, empty lines included, the last line also without a final newline', async () => {
  const items = await read(file(`${access(1)}\n\n${access(2)}\n${access(3)}`));
  assert.deepEqual(items, [
    { line: 1, text: access(1) },
    { line: 2, text: '' },
    { line: 3, text: access(2) },
    { line: 4, text: access(3) },
  ]);
  assert.deepEqual(texts(await read(file(`${access(1)}\n${access(2)}\n`))), [access(1), access(2)], 'a final newline does not make an empty last line');
  assert.deepEqual(await read(file('')), []);
});

test('CRLF line ends and a UTF-8 byte-order mark are not part of the lines', async () => {
  const items = await read(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${access(1)}\r\n${access(2)}\r\n\r\nlast\r`)])));
  assert.deepEqual(texts(items), [access(1), access(2), '', 'last']);
  // A BOM before a JSON array too.
  const array = await read(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"a":1}]')])));
  assert.deepEqual(texts(array), ['{"a":1}']);
});

test('gzip is recognised by its magic bytes, whatever the name; concatenated members are read in turn', async () => {
  const content = `${access(1)}\n${access(2)}\n`;
  assert.deepEqual(texts(await read(file(gzipSync(content), 'looks-plain.log'))), [access(1), access(2)]);
  const twoMembers = Buffer.concat([gzipSync(`${access(1)}\n`), gzipSync(`${access(2)}\n${access(3)}`)]);
  assert.deepEqual(texts(await read(file(twoMembers, 'two.log.gz'))), [access(1), access(2), access(3)]);
  const array = gzipSync('[\n{"a":"x"},\n{"b":"y"}\n]\n');
  assert.deepEqual(texts(await read(file(array, 'array.json'))), ['{"a":"x"}', '{"b":"y"}']);
});

test('readDecoded: the bytes the items are read from, the same for a file and its gzip copy (one or several members)', async () => {
  const content = Buffer.from(`\ufeff${access(1)}\r\n${access(2)}\n`);
  const decoded = async (path: string, options: LogFileReaderOptions = {}) => {
    const chunks: Buffer[] = [];
    for await (const chunk of readDecoded(path, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  assert.deepEqual(await decoded(file(content)), content, 'plain: as it is, byte-order mark and CRLF included');
  assert.deepEqual(await decoded(file(gzipSync(content), 'copy.log.gz')), content);
  assert.deepEqual(await decoded(file(Buffer.concat([gzipSync(content.subarray(0, 10)), gzipSync(content.subarray(10))]))), content);
  assert.deepEqual(await decoded(file(content), { end: 5 }), content.subarray(0, 5), 'end: the first bytes only');
  const damaged = gzipSync(content).subarray(0, 20);
  await assert.rejects(decoded(file(damaged)), (err: NodeJS.ErrnoException) => err.code?.startsWith('Z_') === true);
});

test('a truncated gzip file: the lines before the damage come through, then the error', async () => {
  const lines = Array.from({ length: 3000 }, (_, i) => access(i % 1000));
  const whole = gzipSync(`${lines.join('\n')}\n`);
  const path = file(whole.subarray(0, Math.floor(whole.length / 2)), 'cut.log.gz');
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of readLogFile(path)) got.push(item.text);
    })(),
    (err: NodeJS.ErrnoException) => err.code === 'Z_BUF_ERROR' || /unexpected end of file/.test(err.message),
  );
  assert.ok(got.length > 0 && got.length < lines.length, `${got.length} lines before the damage`);
  assert.deepEqual(got, lines.slice(0, got.length), 'whole lines only, in order: no partial line at the damage');
});

test('a JSON array: one item per element; brackets, braces, quotes and escaped quotes inside strings do not cut; nested arrays stay whole', async () => {
  const elements = [
    { time: '2026-09-23T19:52:07Z', message: '[JSSACCESSLOG] x ] [ } {' },
    { a: 'quote " inside', b: 'backslash \\', c: '\\"', d: 'ends with backslash \\\\' },
    { nested: [[1, [2, { e: ']' }]], { f: ['[', ']'] }] },
    { unicode: 'ömer 李雷 \u2028' },
  ];
  const compact = `[${elements.map((e) => JSON.stringify(e)).join(',')}]`;
  const items = await read(file(compact, 'compact.json'));
  assert.deepEqual(texts(items), elements.map((e) => JSON.stringify(e)));
  assert.deepEqual(items.map((i) => i.element), [1, 2, 3, 4]);
  const pretty = JSON.stringify(elements, null, 2);
  const prettyItems = await read(file(`  \n${pretty}\n`, 'pretty.json'));
  assert.deepEqual(prettyItems.map((i) => JSON.parse(i.text) as unknown), elements);
  assert.equal(prettyItems[0]!.line, 3, 'the line where the element starts');
  assert.deepEqual(await read(file('[]', 'empty.json')), []);
  assert.deepEqual(await read(file('[ ]\n', 'empty2.json')), []);
});

test('a log line that starts with [ is a line, not a JSON array', async () => {
  const change = '[CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [INFO ] [Tomcat-380 ] [file ] - [jane (ID: -1)] [READ] [Computer]';
  assert.deepEqual(texts(await read(file(`${access(1)}\n${change}\n`))), [access(1), change]);
});

test('a JSON array cut short: the complete elements, then the cut one as it is (refused later as malformed)', async () => {
  const items = await read(file('[{"a":1},{"b":"tru', 'cut.json'));
  assert.deepEqual(texts(items), ['{"a":1}', '{"b":"tru']);
  const junk = await read(file('[{"a":1}]\nnot json\n', 'junk.json'));
  assert.deepEqual(texts(junk), ['{"a":1}', 'not json'], 'text after the array is not lost');
});

test('a raw change-management line keeps its tab-indented detail lines', async () => {
  const head = '[CHANGEMANAGEMENT] 2026-09-23T19:56:45,940 [INFO ] [eralPool-47] [file ] - [jane (ID: -1)] [DELETE] [Computer] [2026-09-23T19:56:45.940+0000]';
  const items = await read(file(`${head}\n\tID             2430\n\tName ......... ZO-1\n${access(1)}\n\tnot a detail of an access line\n`));
  assert.deepEqual(items, [
    { line: 1, text: `${head}\n\tID             2430\n\tName ......... ZO-1` },
    { line: 4, text: access(1) },
    { line: 5, text: '\tnot a detail of an access line' },
  ]);
});

test('a line over the limit is flagged tooLong with its first bytes kept, and the lines after it still come through', async () => {
  const long = 'x'.repeat(5000);
  const items = await read(file(`${access(1)}\n${long}\r\n${access(2)}\n${'y'.repeat(1001)}`), { maxLineBytes: 1000, keepBytes: 100 });
  assert.deepEqual(items, [
    { line: 1, text: access(1) },
    { line: 2, text: 'x'.repeat(100), tooLong: true, bytes: 5000 },
    { line: 3, text: access(2) },
    { line: 4, text: 'y'.repeat(100), tooLong: true, bytes: 1001 },
  ]);
  // At the limit exactly (with a CRLF end) the line is whole.
  assert.deepEqual(texts(await read(file(`${'z'.repeat(1000)}\r\nnext\n`), { maxLineBytes: 1000, keepBytes: 100 })), ['z'.repeat(1000), 'next']);
  // A multi-byte character is not cut in half.
  const wide = await read(file(`${'é'.repeat(600)}\nok\n`), { maxLineBytes: 1000, keepBytes: 101 });
  assert.equal(wide[0]!.text, 'é'.repeat(50));
  assert.equal(wide[0]!.bytes, 1200);
  assert.equal(wide[1]!.text, 'ok');
});

test('a 2 MB line with the default limit (1 MiB): 64 KiB kept, and reading goes on', async () => {
  const big = `{"message":"${'a'.repeat(2 * 1024 * 1024)}"}`;
  const items = await read(file(`${access(1)}\n${big}\n${access(2)}\n`));
  assert.equal(items.length, 3);
  assert.equal(items[1]!.tooLong, true);
  assert.equal(items[1]!.bytes, big.length);
  assert.equal(items[1]!.text, big.slice(0, 64 * 1024));
  assert.deepEqual([items[0]!.text, items[2]!.text], [access(1), access(2)]);
});

test('a JSON array element over the limit is flagged tooLong, and the elements after it still come through', async () => {
  const items = await read(file(`[{"a":"${'q'.repeat(3000)}"}, {"b":2}]`, 'long.json'), { maxLineBytes: 1000, keepBytes: 10 });
  assert.deepEqual(items, [
    { line: 1, text: '{"a":"qqqq', tooLong: true, bytes: 3008, element: 1 },
    { line: 1, text: '{"b":2}', element: 2 },
  ]);
});

test('stdin (-), and reading only the first bytes (the ones that were hashed)', async () => {
  const stdin = Readable.from([Buffer.from(`${access(1)}\n${access(2)}`)]);
  assert.deepEqual(texts(await read('-', { stdin })), [access(1), access(2)]);
  const content = `${access(1)}\n${access(2)}\n`;
  assert.deepEqual(texts(await read(file(`${content}${access(3)}\n`), { end: Buffer.byteLength(content) })), [access(1), access(2)]);
});

test('the same items whatever the read size: lines and JSON arrays split at every possible place', async () => {
  const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', '\\"', 'é'));
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.integer())), { maxLength: 6 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      async (objects, chunkBytes, crlf) => {
        const ndjson = objects.map((o) => JSON.stringify(o)).join(crlf ? '\r\n' : '\n');
        assert.deepEqual(texts(await read(file(ndjson), { chunkBytes })), ndjson === '' ? [] : objects.map((o) => JSON.stringify(o)));
        const array = JSON.stringify(objects, null, crlf ? 1 : undefined);
        const items = await read(file(array, `a${files}.json`), { chunkBytes });
        assert.deepEqual(items.map((i) => JSON.stringify(JSON.parse(i.text))), objects.map((o) => JSON.stringify(o)));
        const gz = await read(file(gzipSync(array), `g${files}.json`), { chunkBytes });
        assert.deepEqual(texts(gz), texts(items));
      },
    ),
    { numRuns: 150 },
  );
});
