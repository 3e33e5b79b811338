// The access check on the real server: DNS rebinding on HTTP and sockets, a dot-dot path out of /_next/, the
// protocol version in the socket handshake, and a router built from HTTP_ROUTES.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { io as connect } from 'socket.io-client';
import { PROTOCOL_VERSION } from './protocol';
import { socketParser } from './protocol/transport';
import { HTTP_ROUTES, routePath, type HttpRouteName } from './protocol/http';
import { startTestServer, type TestServer } from './testing/test-server';

/** A request sent as written: the path is not normalised (like curl --path-as-is) and any Host header goes. */
function rawRequest(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function socketError(url: string, options: { auth?: object }): Promise<string> {
  const socket = connect(url, { transports: ['polling'], parser: socketParser, reconnection: false, ...options });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error.message);
    });
  });
}

/**
 * socket.io's connect over raw long-polling requests, so the handshake carries exactly the given Host header (the
 * Node client sets its own): the engine.io handshake, the namespace connect packet, then the server's answer.
 */
async function rawSocketConnect(url: string, host: string): Promise<string> {
  const headers = { host };
  const open = await rawRequest(url, '/socket.io/?EIO=4&transport=polling', { headers });
  const sid = (JSON.parse(open.text.slice(1)) as { sid: string }).sid;
  const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const send = await rawRequest(url, path, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain' },
    body: '40',
  });
  assert.equal(send.status, 200);
  return (await rawRequest(url, path, { headers })).text;
}

describe('on loopback without a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ testHooks: false });
  });
  after(() => server.teardown());

  test('a rebinding page (Host: attacker.example) can neither read nor write nor open a socket', async () => {
    const host = `attacker.example:${server.port}`;
    const read = await rawRequest(server.url, '/api/runs', { headers: { host } });
    assert.equal(read.status, 403);
    assert.match(read.text, /"code":"forbidden_host"/);
    const write = await rawRequest(server.url, '/api/runs', {
      method: 'POST',
      headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
    });
    assert.equal(write.status, 403);
    assert.match(await rawSocketConnect(server.url, host), /^44.*forbidden_host/);
    const ok = await rawRequest(server.url, '/api/runs', { headers: { host: `localhost:${server.port}` } });
    assert.equal(ok.status, 200);
    assert.match(await rawSocketConnect(server.url, `localhost:${server.port}`), /^40\{"sid"/);
  });

  test('another protocol version is refused with protocol_mismatch; a client that says none is let in', async () => {
    const refused = await socketError(server.url, { auth: { protocolVersion: PROTOCOL_VERSION + 1 } });
    assert.match(refused, /^protocol_mismatch: this server speaks protocol 1, the client 2/);
    assert.equal(await socketError(server.url, { auth: { protocolVersion: PROTOCOL_VERSION } }), 'connected');
    assert.equal(await socketError(server.url, {}), 'connected');
  });

  test('every route of HTTP_ROUTES is served (an unknown run, not an unknown route)', async () => {
    for (const name of Object.keys(HTTP_ROUTES) as HttpRouteName[]) {
      const { method } = HTTP_ROUTES[name];
      const path = routePath(name, { id: 'no-such-run', iteration: 1 });
      const res = await rawRequest(server.url, path, {
        method,
        headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
      });
      assert.doesNotMatch(res.text, /no route/, `${method} ${path}`);
      assert.ok(res.status < 500, `${method} ${path}: ${res.status}`);
    }
  });
});

describe('with a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ testHooks: false, token: 's3cret' });
  });
  after(() => server.teardown());

  test('GET /_next/../runs/ID sent as-is is a page and needs the token', async () => {
    for (const path of ['/_next/../runs/abc', '/_next/%2e%2e/runs/abc', '/_next/..%2Fruns/abc']) {
      const res = await rawRequest(server.url, path);
      assert.equal(res.status, 401, path);
    }
  });

  test('any Host name is served with the token', async () => {
    const res = await rawRequest(server.url, '/api/runs', {
      headers: { host: `box.lan:${server.port}`, 'x-engram-token': 's3cret' },
    });
    assert.equal(res.status, 200);
  });
});

test('routePath fills :id and :iteration, encoded', () => {
  assert.equal(routePath('frame', { id: 'a b', iteration: 3 }), '/api/runs/a%20b/frames/3');
  assert.throws(() => routePath('getRun'), /missing :id/);
});
