import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createAuthToken, RealtimeTokenError } from '@realtime-token/client';
import { world, json, token } from './harness.js';

test('many callers share one request, and the token is reused', async () => {
  const w = world();
  w.answer(token());
  const authToken = createAuthToken(w.options());
  const all = await Promise.all(Array.from({ length: 20 }, () => authToken()));
  assert.equal(new Set(all).size, 1);
  assert.equal(w.calls.length, 1);
  w.advance(60_000);
  assert.equal(await authToken(), all[0]);
  assert.equal(w.calls.length, 1);
});

test('the request is a credentialed POST to the url, with the rooms as its body', async () => {
  const w = world();
  w.answer(token(), token());
  await createAuthToken(w.options())();
  assert.equal(w.calls[0].url, '/api/realtime-token');
  assert.equal(w.calls[0].init.method, 'POST');
  assert.equal(w.calls[0].init.credentials, 'include');
  assert.equal(w.calls[0].init.body, undefined);
  await createAuthToken(w.options({ url: 'https://rt.example.com/t', rooms: ['document-42'], credentials: 'same-origin' }))();
  assert.equal(w.calls[1].url, 'https://rt.example.com/t');
  assert.equal(w.calls[1].init.credentials, 'same-origin');
  assert.deepEqual(JSON.parse(w.calls[1].init.body), { rooms: ['document-42'] });
  assert.equal(w.calls[1].init.headers['Content-Type'], 'application/json');
  assert.throws(() => createAuthToken({ rooms: 'document-42' }), TypeError);
});

test('a new token is fetched expiresIn - refreshMargin after receipt', async () => {
  const w = world();
  w.answer(token(3600), token(3600));
  const authToken = createAuthToken(w.options({ refreshMargin: 60 }));
  const first = await authToken();
  w.advance(3540_000 - 1);
  assert.equal(await authToken(), first);
  w.advance(1);
  const second = await authToken();
  assert.notEqual(second, first);
  assert.equal(w.calls.length, 2);
});

test('a margin longer than the token keeps half its life', async () => {
  const w = world();
  w.answer(token(5), token(5));
  const authToken = createAuthToken(w.options({ refreshMargin: 60 }));
  const first = await authToken();
  w.advance(2499);
  assert.equal(await authToken(), first);
  w.advance(1);
  assert.notEqual(await authToken(), first);
});

for (const offset of [2, -2]) {
  test(`a wall clock ${offset > 0 ? 'ahead' : 'behind'} by 2 h changes nothing`, async () => {
    const w = world({ wallOffset: offset * 3600_000 });
    w.answer(token(3600), token(3600));
    const authToken = createAuthToken(w.options());
    const first = await authToken();
    w.advance(3000_000);
    assert.equal(await authToken(), first);
    w.advance(540_000);
    assert.notEqual(await authToken(), first);
    assert.equal(w.calls.length, 2);
  });
}

test('a wall clock set back while a token is cached does not extend it', async () => {
  const w = world();
  w.answer(token(3600), token(3600));
  const authToken = createAuthToken(w.options());
  const first = await authToken();
  w.wall -= 2 * 3600_000;
  w.advance(3540_000);
  assert.notEqual(await authToken(), first);
});

test('after a sleep that stopped the monotonic clock, the next call fetches', async () => {
  const w = world();
  w.answer(token(3600), token(3600));
  const authToken = createAuthToken(w.options());
  const first = await authToken();
  // Suspended for 2 h: performance.now() did not move, Date.now() did.
  w.wall += 2 * 3600_000;
  assert.notEqual(await authToken(), first);
});

test('invalidate drops the cached token', async () => {
  const w = world();
  w.answer(token(), token());
  const authToken = createAuthToken(w.options());
  const first = await authToken();
  authToken.invalidate();
  assert.notEqual(await authToken(), first);
  assert.equal(w.calls.length, 2);
});

test('a request in flight at invalidate is not cached', async () => {
  const w = world();
  w.answer(token(), token(), token());
  const authToken = createAuthToken(w.options());
  const pending = authToken();
  authToken.invalidate();
  const stale = await pending;
  const fresh = await authToken();
  assert.notEqual(fresh, stale);
  assert.equal(await authToken(), fresh);
  assert.equal(w.calls.length, 2);
});

test('401 calls onUnauthenticated once per failure and rejects every caller', async () => {
  const w = world();
  const seen = [];
  w.answer(json(401, { error: 'unauthenticated', message: 'no valid session; log in and try again' }));
  const authToken = createAuthToken(w.options({ onUnauthenticated: (e) => seen.push(e) }));
  const results = await Promise.allSettled([authToken(), authToken(), authToken()]);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof RealtimeTokenError);
    assert.equal(r.reason.status, 401);
    assert.equal(r.reason.code, 'unauthenticated');
    assert.equal(r.reason.message, 'no valid session; log in and try again');
  }
  assert.equal(seen.length, 1);
  assert.equal(w.calls.length, 1);
  // The next call asks again (the user may have logged in meanwhile).
  w.answer(json(401, { error: 'unauthenticated', message: 'x' }));
  await assert.rejects(authToken(), { status: 401 });
  assert.equal(seen.length, 2);
});

test('403 rejects at once without a retry', async () => {
  const w = world();
  w.answer(json(403, { error: 'room_not_allowed', message: 'room `document-9` is not allowed' }));
  const authToken = createAuthToken(w.options({ rooms: ['document-9'] }));
  await assert.rejects(authToken(), (e) => e.status === 403 && e.code === 'room_not_allowed');
  assert.equal(w.calls.length, 1);
  assert.deepEqual(w.sleeps, []);
});

for (const [status, code] of [[429, 'rate_limited'], [503, 'session_backend_unavailable']]) {
  test(`${status} is retried after Retry-After`, async () => {
    const w = world();
    w.answer(json(status, { error: code, message: 'later' }, { 'Retry-After': '3' }), token());
    const token1 = await createAuthToken(w.options())();
    assert.match(token1, /^token-/);
    assert.deepEqual(w.sleeps, [3000]);
    assert.equal(w.calls.length, 2);
  });
}

test('network errors back off exponentially with jitter, bounded', async () => {
  const w = world();
  const down = new TypeError('Failed to fetch');
  w.answer(down, down, down, down, down, down, token());
  w.random = () => 0; // the shortest jitter: half the step
  const authToken = createAuthToken(w.options({ maxBackoff: 4, random: w.random, deadline: 60 }));
  assert.match(await authToken(), /^token-/);
  assert.deepEqual(w.sleeps, [250, 500, 1000, 2000, 2000, 2000]);
});

test('a caller never waits past the deadline', async () => {
  const w = world();
  for (let i = 0; i < 100; i++) w.answer(new TypeError('Failed to fetch'));
  const authToken = createAuthToken(w.options({ deadline: 10 }));
  const started = w.mono;
  await assert.rejects(authToken(), (e) => e instanceof RealtimeTokenError && e.code === 'network_error' && e.status === 0);
  assert.ok(w.mono - started <= 10_000, `${w.mono - started} ms`);
  assert.ok(w.calls.length > 2);
});

test('a Retry-After longer than the deadline rejects at once with retryAfter', async () => {
  const w = world();
  w.answer(json(429, { error: 'rate_limited', message: 'slow down' }, { 'Retry-After': '120' }));
  await assert.rejects(createAuthToken(w.options({ deadline: 30 }))(), (e) => e.retryAfter === 120 && e.code === 'rate_limited');
  assert.deepEqual(w.sleeps, []);
});

test('an answer that is not JSON is judged by its status', async () => {
  const w = world();
  const page = { ok: false, status: 502, headers: { get: () => null }, json: async () => { throw new SyntaxError('<html>'); } };
  w.answer(page, token());
  assert.match(await createAuthToken(w.options())(), /^token-/);
  const w2 = world();
  w2.answer({ ...page, status: 404 });
  await assert.rejects(createAuthToken(w2.options())(), (e) => e.code === 'http_404');
});
