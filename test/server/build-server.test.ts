import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { useTestApp } from '../helpers/test-app.ts';

// What Node's HTTP parser refuses is answered in Orchard's error format; a timeout names the setting
// that fired.

const ctx = useTestApp({ ORCHARD_HEADERS_TIMEOUT_MS: '300', ORCHARD_REQUEST_TIMEOUT_MS: '700' });

function send(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(bytes));
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('client errors', () => {
  let port = 0;
  before(async () => {
    await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (ctx.t.app.server.address() as { port: number }).port;
  });
  after(() => ctx.t.app.server.closeAllConnections());

  test('headers that never finish: 408 naming headers_timeout_ms', async () => {
    const text = await send(port, 'POST /jamf-pro-events HTTP/1.1\r\nHost: x\r\nX-Partial: ');
    assert.match(text, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.equal(body.code, 'ORCHARD_ERR_REQUEST_TIMEOUT');
    assert.match(body.message, /headers were not received in time \(headers_timeout_ms\)/);
  });

  test('a body that never finishes: 408 naming request_timeout_ms', async () => {
    const text = await send(port, 'POST /jamf-pro-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Orchard-Secret: test-secret-0123456789abcdef\r\nContent-Length: 100\r\n\r\n{"webhook"');
    assert.match(text, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.match(body.message, /request was not received in time \(request_timeout_ms\)/);
  });

  test('not HTTP at all: 400 ORCHARD_ERR_BAD_HTTP', async () => {
    const text = await send(port, 'HELLO\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /ORCHARD_ERR_BAD_HTTP/);
  });
});
