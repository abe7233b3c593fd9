import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, crc32InJavaScript } from '../../src/spool/crc32.ts';

test('crc32: the JavaScript table gives zlib\'s values (the fallback for Node before 20.15)', () => {
  for (const data of [Buffer.alloc(0), Buffer.from('123456789'), randomBytes(10_000)]) assert.equal(crc32InJavaScript(data), crc32(data));
  assert.equal(crc32InJavaScript(Buffer.from('123456789')), 0xcbf43926, 'the standard check value');
  assert.equal(crc32InJavaScript(Buffer.from('6789'), crc32InJavaScript(Buffer.from('12345'))), 0xcbf43926, 'continued');
});
