import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VendorPagingError } from '../../../src/errors.ts';
import { idAfter, maxRereadsPerScan, startOfScan, stepScan, type ScanCursor } from '../../../src/sources/jamf-pro/scan-cursor.ts';

const where = { connector: 'fleet', path: '/api/v3/computers-inventory', noun: 'computers' };
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** Pages through a list of `total` ids the way a Jamf Pro that clamps page-size to `clamp` answers, removing ids when asked. */
function scan(list: string[], pageSize: number, clamp: number, onPage: (page: number, list: string[]) => void = () => {}): { read: string[]; steps: number; warnings: string[] } {
  let at: ScanCursor = startOfScan(1);
  const read: string[] = [];
  const warnings: string[] = [];
  for (let steps = 1; steps < 1000; steps++) {
    const size = Math.min(at.pageSize ?? pageSize, clamp);
    onPage(at.page, list);
    const page = list.slice(at.page * size, at.page * size + size);
    const step = stepScan(at, at.pageSize ?? pageSize, { totalCount: list.length, ids: page }, where);
    for (const i of step.keep) read.push(page[i]!);
    warnings.push(...step.warnings);
    if (!step.more) return { read, steps, warnings };
    at = step.next;
  }
  throw new Error('the scan did not end');
}

test('ids compare as numbers when both are digits ("10" after "9"), as text otherwise', () => {
  assert.equal(idAfter('10', '9'), true);
  assert.equal(idAfter('9', '10'), false);
  assert.equal(idAfter('9', '9'), false);
  assert.equal(idAfter('b', 'a'), true);
  assert.equal(idAfter('1', null), true);
});

test('a clamp below page_size on a fleet of thousands: the scan pages on by what came back and reads every id once', () => {
  const list = ids(1, 3456);
  const { read, warnings } = scan(list, 500, 150);
  assert.deepEqual(read, list);
  assert.equal(warnings.filter((w) => /asked for 500 computers a page, Jamf Pro answered 150 of 3456; paging on by 150/.test(w)).length, 1);
});

test('the page size at the clamp exactly, and one above: no warning at the edge, one above it', () => {
  assert.equal(scan(ids(1, 450), 150, 150).warnings.length, 0);
  assert.equal(scan(ids(1, 450), 151, 150).warnings.length, 1);
  assert.deepEqual(scan(ids(1, 450), 151, 150).read, ids(1, 450));
});

test('computers removed in the middle of a scan: the scan goes back as many pages as went, and misses none', () => {
  const list = ids(1, 1000);
  const removed = new Set(['5', '250', '251']);
  let done = false;
  const { read, warnings } = scan(list, 100, 2000, (page, l) => {
    if (page !== 4 || done) return;
    done = true;
    for (const id of removed) l.splice(l.indexOf(id), 1);
  });
  assert.deepEqual(read.filter((id) => !removed.has(id)), ids(1, 1000).filter((id) => !removed.has(id)), 'every remaining computer once');
  assert.equal(new Set(read).size, read.length);
  assert.ok(warnings.some((w) => /totalCount fell from 1000 to 997 during the scan .* reading again from page 3/.test(w)), warnings.join('\n'));
});

test('the same page twice (a server that ignores page) fails with VendorPagingError instead of looping', () => {
  const at = stepScan(startOfScan(1), 10, { totalCount: 30, ids: ids(1, 10) }, where).next;
  assert.throws(() => stepScan(at, 10, { totalCount: 30, ids: ids(1, 10) }, where), (err: unknown) => err instanceof VendorPagingError && err.code === 'ORCHARD_ERR_VENDOR_PAGING' && /page 1 holds only computers already read on earlier pages \(ids up to 10\)/.test(err.message));
});

test('an empty page inside totalCount, and a page larger than asked, are contradictions', () => {
  const at: ScanCursor = { scan: 1, page: 2, lastId: '20', pageSize: 10, totalCount: 50 };
  assert.throws(() => stepScan(at, 10, { totalCount: 50, ids: [] }, where), /page 2 is empty, yet totalCount \(50\) says 30 more computers follow/);
  assert.throws(() => stepScan(startOfScan(1), 10, { totalCount: 50, ids: ids(1, 11) }, where), /holds 11 computers, more than the page-size of 10/);
});

test('a count that keeps falling and rising is given up after maxRereadsPerScan', () => {
  const at: ScanCursor = { scan: 1, page: 3, lastId: '30', pageSize: 10, totalCount: 100, rereads: maxRereadsPerScan };
  assert.throws(() => stepScan(at, 10, { totalCount: 99, ids: ids(32, 41) }, where), /totalCount fell 51 times in one scan/);
});

test('a checkpoint of the v1 path ({scan, page, lastId}) goes on where it was; the end of a scan is {scan+1, page 0, lastId null}', () => {
  const old: ScanCursor = { scan: 4, page: 2, lastId: '200' };
  const step = stepScan(old, 100, { totalCount: 250, ids: ids(201, 250) }, where);
  assert.deepEqual(step.keep.length, 50);
  assert.equal(step.more, false);
  assert.deepEqual(step.next, { scan: 5, page: 0, lastId: null });
});

test('items without an id are counted but kept out; a shortfall against totalCount at the end is a warning', () => {
  const step = stepScan(startOfScan(1), 10, { totalCount: 3, ids: ['1', undefined, '3'] }, where);
  assert.deepEqual(step.keep, [0, 2]);
  assert.equal(step.warnings.length, 0);
  const short = stepScan({ scan: 1, page: 1, lastId: '10', pageSize: 10, totalCount: 20, seen: 8 }, 10, { totalCount: 20, ids: ids(11, 20) }, where);
  assert.match(short.warnings[0]!, /the scan read 18 computers, Jamf Pro counts 20: 2 moved between pages/);
});
