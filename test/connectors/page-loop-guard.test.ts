import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageLoopGuard } from '../../src/connectors/page-loop-guard.ts';
import { diagnoseConnector } from '../../src/connectors/diagnosis.ts';
import { VendorLoopError } from '../../src/errors.ts';

const page = (more: boolean, next?: string, fingerprint?: string) => ({ records: [], cursor: null, more, received: 0, ...(next === undefined ? {} : { next }), ...(fingerprint === undefined ? {} : { fingerprint }) });

test('a next-page token the run already had stops the run; a cycle too, not only the same token twice in a row', () => {
  const guard = new PageLoopGuard('c');
  guard.check(page(true, 'A'));
  guard.check(page(true, 'B'));
  assert.throws(() => guard.check(page(true, 'A')), (err: unknown) => err instanceof VendorLoopError && err.repeated === 'cursor' && /after 3 page/.test(err.message));
});

test('the last page may carry any token (JumpCloud sends X-Search_after even on its last page); pages without tokens pass', () => {
  const guard = new PageLoopGuard('c');
  guard.check(page(true, 'A'));
  guard.check(page(false, 'A'));
  const plain = new PageLoopGuard('c');
  for (let i = 0; i < 5; i++) plain.check(page(true));
});

test('a page identical to the one before stops the run; empty pages (no fingerprint) never count as identical', () => {
  const guard = new PageLoopGuard('c');
  guard.check(page(true, 'A', 'x'));
  guard.check(page(true, 'B'));
  guard.check(page(true, 'C'));
  guard.check(page(true, 'D', 'x'));
  assert.throws(() => guard.check(page(true, 'E', 'x')), (err: unknown) => err instanceof VendorLoopError && err.repeated === 'page');
});

test('a loop is diagnosed as a vendor response problem, not retried, and says nothing was written', () => {
  const d = diagnoseConnector(new VendorLoopError('c', 'cursor', 7), { name: 'c', baseUrl: 'https://x.example' }, { credentialKeys: [] });
  assert.equal(d.category, 'response');
  assert.equal(d.retryable, false);
  assert.match(d.cause, /already answered in this run/);
  assert.match(d.cause, /not written/);
});
