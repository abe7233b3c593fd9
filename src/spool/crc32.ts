import * as zlib from 'node:zlib';

// CRC-32 (IEEE 802.3, the zlib and gzip one) of a spool record. zlib.crc32 is native from Node
// 20.15 (and 22.2); older Node 20 releases, which package.json still allows, take a table in
// JavaScript that gives the same values.

let table: Int32Array | undefined;

function crc32Table(): Int32Array {
  if (table) return table;
  table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

function crc32Js(data: Uint8Array, value = 0): number {
  const t = crc32Table();
  let crc = ~value;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** The CRC-32 of `data`, continuing from `value` (the CRC of what came before it). */
export const crc32: (data: Uint8Array, value?: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32Js;

/** The JavaScript implementation, for the test that keeps it equal to zlib's. */
export const crc32InJavaScript = crc32Js;
