// The one access check (server/auth.ts) that HTTP, pages and sockets share: token, Host and Origin.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccessControl, hostName, presentedToken, type AccessKind, type AccessRequest } from './auth';
import { ApiError } from './errors';

const request = (url: string, headers: AccessRequest['headers'] = {}, extra: Partial<AccessRequest> = {}) => ({
  url,
  method: 'GET',
  headers: { host: '127.0.0.1:3000', ...headers },
  ...extra,
});

/** The error code a check throws, or 'ok'. */
function outcome(token: string | undefined, req: AccessRequest, kind: AccessKind): string {
  try {
    createAccessControl(token).check(req, kind);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error.code;
  }
}

describe('the token is read one way for every kind of request', () => {
  test('socket auth, then the header, then ?token=, then the cookie', () => {
    const all = request('/api/runs?token=q', { 'x-engram-token': 'h', cookie: 'a=1; engram_token=c' }, { auth: {} });
    assert.deepEqual(presentedToken({ ...all, auth: { token: 's' } }), { token: 's', from: 'auth' });
    assert.deepEqual(presentedToken(all), { token: 'h', from: 'header' });
    assert.deepEqual(presentedToken(request('/x?token=q', { cookie: 'engram_token=c' })), {
      token: 'q',
      from: 'query',
    });
    assert.deepEqual(presentedToken(request('/x', { cookie: 'a=1; engram_token=c%20d' })), {
      token: 'c d',
      from: 'cookie',
    });
    assert.equal(presentedToken(request('/x', { cookie: 'engram_token=%E0%A4%A' })).token, undefined);
  });

  test('with a token set, api, page and socket all refuse without it and accept it from any source', () => {
    for (const kind of ['api', 'page', 'socket'] as const) {
      assert.equal(outcome('s3cret', request('/runs/x'), kind), 'unauthorized', kind);
      assert.equal(outcome('s3cret', request('/runs/x?token=wrong'), kind), 'unauthorized', kind);
      assert.equal(outcome('s3cret', request('/runs/x?token=s3cret'), kind), 'ok', kind);
      assert.equal(outcome('s3cret', request('/runs/x', { cookie: 'engram_token=s3cret' }), kind), 'ok', kind);
      assert.equal(outcome('s3cret', request('/runs/x', {}, { auth: { token: 's3cret' } }), kind), 'ok', kind);
    }
  });

  test('a page opened with ?token= gets it as an HttpOnly cookie; other sources set nothing', () => {
    const access = createAccessControl('s3cret');
    assert.match(access.check(request('/?token=s3cret'), 'page').setCookie ?? '', /^engram_token=s3cret; HttpOnly/);
    assert.equal(access.check(request('/', { cookie: 'engram_token=s3cret' }), 'page').setCookie, null);
    assert.equal(access.check(request('/api/runs?token=s3cret'), 'api').setCookie, null);
  });
});

describe("Next's static assets", () => {
  test('are served without the token, but a dot-dot path out of /_next/ is a page and needs it', () => {
    assert.equal(outcome('s3cret', request('/_next/static/chunks/main.js'), 'page'), 'ok');
    for (const path of ['/_next/../runs/abc', '/_next/%2e%2e/runs/abc', '/_next/.%2E/runs/abc', '/_next/..']) {
      assert.equal(outcome('s3cret', request(path), 'page'), 'unauthorized', path);
    }
    assert.equal(outcome('s3cret', request('/_next/static/x.js'), 'api'), 'unauthorized');
  });
});

describe('Host names (DNS rebinding)', () => {
  test('without a token only loopback names are served, on every kind', () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST', '[::1]:3000', '127.1.2.3']) {
      assert.equal(outcome(undefined, request('/api/runs', { host }), 'api'), 'ok', host);
    }
    for (const kind of ['api', 'page', 'socket'] as const) {
      for (const host of ['attacker.example:3000', 'localhost.attacker.example', '127.0.0.1.nip.io', '[::2]:1']) {
        assert.equal(outcome(undefined, request('/api/runs', { host }), kind), 'forbidden_host', `${kind} ${host}`);
      }
    }
  });

  test('with a token any Host is served (the token is the protection)', () => {
    const req = request('/api/runs', { host: 'box.lan:3000', 'x-engram-token': 't' });
    assert.equal(outcome('t', req, 'api'), 'ok');
  });

  test('hostName strips the port, keeps IPv6 brackets and lower-cases', () => {
    assert.equal(hostName('LocalHost:80'), 'localhost');
    assert.equal(hostName('[::1]:3000'), '[::1]');
    assert.equal(hostName('[::1]'), '[::1]');
    assert.equal(hostName('127.0.0.1'), '127.0.0.1');
  });
});

describe('Origin', () => {
  test('API writes and sockets must come from this host; API reads and scripts without Origin may not care', () => {
    const from = (origin: string | undefined, method: string) =>
      request('/api/runs', origin === undefined ? {} : { origin }, { method });
    assert.equal(outcome(undefined, from('http://evil.example', 'POST'), 'api'), 'forbidden_origin');
    assert.equal(outcome(undefined, from('not a url', 'DELETE'), 'api'), 'forbidden_origin');
    assert.equal(outcome(undefined, from('http://127.0.0.1:3000', 'POST'), 'api'), 'ok');
    assert.equal(outcome(undefined, from(undefined, 'POST'), 'api'), 'ok');
    assert.equal(outcome(undefined, from('http://evil.example', 'GET'), 'api'), 'ok');
    assert.equal(outcome(undefined, from('http://evil.example', 'GET'), 'socket'), 'forbidden_origin');
  });

  test('an error message echoes at most a short piece of a long bad value', () => {
    const origin = `http://${'x'.repeat(20_000)}.example`;
    try {
      createAccessControl(undefined).check(request('/api/runs', { origin }, { method: 'POST' }), 'api');
      assert.fail('expected a refusal');
    } catch (error) {
      assert.ok(error instanceof ApiError && error.message.length < 200, String(error));
    }
  });
});
