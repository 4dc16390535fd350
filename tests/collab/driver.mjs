// End to end with a real collaboration server, driven by tests/api/collab.rs.
//
// An Express app (express-session + connect-redis) logs users in; its page
// edits a Yjs document through Hocuspocus, whose onAuthenticate verifies the
// service's token with jose and admits a document only when the token's
// permissions.rooms covers its name; the page's token comes from
// @realtime-token/client, packed with `npm pack` and bundled from that
// tarball. Two modes: the service on its own origin (CORS, credentials), and
// behind nginx on the app's origin (Sec-Fetch-Site: same-origin; that origin
// is not in ALLOWED_ORIGINS).
//
// Protocol (stdout is JSON lines):
//   1. prints {"appPort": n} once the app and Hocuspocus listen;
//   2. reads the service's port as one line on stdin (the caller started it
//      with ALLOWED_ORIGINS=http://localhost:<appPort>, TOKEN_TTL=5s);
//   3. prints one JSON result line; exit 0 iff every check passed (1: a
//      check failed, 2: error or deadline).
// Env: SESSION_SECRET, REDIS_URL, SESSION_PREFIX, TEST_JWT_SECRET,
// JWT_ISSUER, JWT_AUDIENCE; optional CHROMIUM, NGINX, DEADLINE_MS.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Server } from '@hocuspocus/server';
import { RedisStore } from 'connect-redis';
import { build } from 'esbuild';
import express from 'express';
import session from 'express-session';
import { jwtVerify } from 'jose';
import { chromium } from 'playwright-core';
import { createClient } from 'redis';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const SECRET = new TextEncoder().encode(env('TEST_JWT_SECRET'));
const ISSUER = env('JWT_ISSUER');
const AUDIENCE = env('JWT_AUDIENCE');
const DEADLINE_MS = Number(process.env.DEADLINE_MS || 90000);
const started = Date.now();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rt-collab-'));
const cleanups = [];

const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
async function shutdown(code) {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
setTimeout(() => {
  emit({ ok: false, error: `deadline of ${DEADLINE_MS} ms exceeded`, elapsedMs: Date.now() - started });
  shutdown(2);
}, DEADLINE_MS).unref();

/** Polls `fn` until it is truthy; the overall deadline bounds it. */
async function until(fn, what) {
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - started > DEADLINE_MS - 2000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- The client package, as npm would ship it ----------------------------------------

function packedClient() {
  const clientDir = path.resolve(here, '../../clients/js');
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: clientDir })
    .toString().trim().split('\n').pop();
  execFileSync('tar', ['-xzf', path.join(tmp, tarball), '-C', tmp]);
  return { dir: path.join(tmp, 'package'), tarball };
}

async function bundle(clientDir) {
  const out = await build({
    entryPoints: [path.join(here, 'page.js')],
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
    alias: { '@realtime-token/client': clientDir },
  });
  return out.outputFiles[0].text;
}

// ---- Hocuspocus: admits a document only with a token whose rooms cover it --------------

const auths = []; // { doc, ok, jti, iat, exp, reason, at }
const sockets = new Set(); // the server's TCP connections, to cut them all
const covers = (patterns, name) =>
  patterns.some((p) => p === '*' || p === name || (p.endsWith('*') && name.startsWith(p.slice(0, -1))));

const collab = new Server({
  port: 0,
  address: '127.0.0.1',
  stopOnSignals: false,
  quiet: true,
  async onAuthenticate({ token, documentName }) {
    const entry = { doc: documentName, ok: false, at: Date.now() };
    auths.push(entry);
    const { payload } = await jwtVerify(token, SECRET, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
    }).catch((e) => {
      entry.reason = e.code ?? e.name;
      throw e;
    });
    Object.assign(entry, { jti: payload.jti, iat: payload.iat, exp: payload.exp, sub: payload.sub });
    if (!covers(payload.permissions?.rooms ?? [], documentName)) {
      entry.reason = 'room not granted';
      throw new Error('room not granted');
    }
    entry.ok = true;
    return { user: payload.sub };
  },
});

// ---- The app: login, logout, the page ---------------------------------------------------

const redis = createClient({ url: env('REDIS_URL') });
redis.on('error', () => {});
let page = null;
let appConfig = null; // mode -> { tokenUrl, wsUrl }

function app() {
  const a = express();
  a.use(session({
    store: new RedisStore({ client: redis, prefix: env('SESSION_PREFIX') }),
    secret: env('SESSION_SECRET'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 3_600_000 },
  }));
  a.get('/login', (req, res) => {
    req.session.userId = String(req.query.user);
    res.redirect(`/?doc=${encodeURIComponent(String(req.query.doc))}`);
  });
  a.post('/logout', (req, res) => req.session.destroy(() => res.status(204).end()));
  a.get('/', (req, res) => {
    const mode = req.headers['x-e2e-mode'] === 'same-origin' ? 'same-origin' : 'cross-origin';
    const meta = JSON.stringify(appConfig[mode]).replaceAll('"', '&quot;');
    res.set('Cache-Control', 'no-store').type('html').send(
      `<!doctype html><meta charset="utf-8"><meta name="e2e" content="${meta}"><script type="module" src="/page.js"></script>`,
    );
  });
  a.get('/page.js', (_req, res) => res.type('text/javascript').send(page));
  return a;
}

function listen(server, port = 0) {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));
}

async function freePort() {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** nginx on the app's origin: the page, and /api/realtime-token to the service. */
async function nginx(appPort, servicePort) {
  const port = await freePort();
  const conf = path.join(tmp, 'nginx.conf');
  writeFileSync(conf, `
user root root;
worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /api/realtime-token {
      proxy_pass http://127.0.0.1:${servicePort};
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      proxy_pass http://127.0.0.1:${appPort};
      proxy_set_header Host $host;
      proxy_set_header X-E2E-Mode same-origin;
    }
  }
}
`);
  const child = spawn(process.env.NGINX || '/usr/sbin/nginx', ['-p', tmp, '-c', conf], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGTERM'));
  await until(() => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 'nginx to listen');
  return port;
}

// ---- One mode: two pages edit, tokens expire and are renewed, a foreign room, logout ----

async function scenario(browser, origin, doc) {
  const t0 = Date.now();
  const timings = {};
  const mark = (name) => { timings[name] = Date.now() - t0; };
  const context = await browser.newContext();
  const a = await context.newPage();
  await a.goto(`${origin}/login?user=alice&doc=${doc}`);
  const b = await context.newPage();
  await b.goto(`${origin}/?doc=${doc}`);
  const state = (p) => p.evaluate(() => window.e2e?.state ?? null);
  const text = (p) => p.evaluate(() => window.e2e.text());
  await until(async () => (await state(a))?.synced && (await state(b))?.synced, 'both pages to sync');
  mark('synced');

  await a.evaluate(() => window.e2e.insert('A1 '));
  const aToB = !!(await until(async () => (await text(b)).includes('A1'), 'B to see A1'));
  await b.evaluate(() => window.e2e.insert('B1 '));
  const bToA = !!(await until(async () => (await text(a)).includes('B1'), 'A to see B1'));
  mark('edited');

  // The tokens expire (TOKEN_TTL=5s); every WebSocket is cut, as a deploy,
  // a network change or a laptop's sleep would; the providers reconnect and
  // must present fresh tokens without the user doing anything.
  const first = auths.filter((x) => x.doc === doc && x.ok);
  const lastExp = Math.max(...first.map((x) => x.exp));
  await until(() => Date.now() >= lastExp * 1000 + 100, 'the first tokens to expire');
  mark('expired');
  const closedAt = Date.now();
  for (const socket of sockets) socket.destroy();
  const renewed = await until(() => {
    const r = auths.filter((x) => x.doc === doc && x.at >= closedAt);
    return r.filter((x) => x.ok).length >= 2 ? r : null;
  }, 'both pages to re-authenticate');
  mark('renewed');
  await until(async () => (await state(a)).synced && (await state(b)).synced, 'both pages to sync again');
  await a.evaluate(() => window.e2e.insert('A2 '));
  const afterRenewal = !!(await until(async () => (await text(b)).includes('A2'), 'B to see A2'));
  const [sa, sb] = [await state(a), await state(b)];

  // A document the token's rooms do not cover.
  const c = await context.newPage();
  await c.goto(`${origin}/?doc=secret-plans`);
  await until(async () => (await state(c))?.failures.length > 0, 'the foreign room to be refused');
  const foreign = auths.filter((x) => x.doc === 'secret-plans');
  mark('foreign');

  // Logout in the app: the next token request is a 401.
  const logout = await a.evaluate(() => window.e2e.logout());
  const afterLogout = await state(a);
  await context.close();
  mark('done');

  const firstJtis = new Set(first.map((x) => x.jti));
  return {
    aToB,
    bToA,
    firstAuths: first.length,
    renewedAuths: renewed.filter((x) => x.ok).length,
    renewedFailures: renewed.filter((x) => !x.ok).map((x) => x.reason),
    renewedWithNewTokens: renewed.filter((x) => x.ok).every((x) => !firstJtis.has(x.jti) && x.exp > lastExp),
    afterRenewal,
    pageFailures: [...sa.failures, ...sb.failures],
    tokenRequests: [sa.tokenRequests, sb.tokenRequests],
    authenticated: [sa.authenticated, sb.authenticated],
    foreign: {
      refusedByServer: foreign.length > 0 && foreign.every((x) => !x.ok && x.reason === 'room not granted'),
      subject: foreign[0]?.sub ?? null,
    },
    logout: { ...logout, unauthenticatedCalls: afterLogout.unauthenticated },
    timings,
  };
}

function judge(r) {
  const fails = [];
  const expect = (cond, what) => cond || fails.push(what);
  expect(r.aToB && r.bToA, 'edits did not reach the other page');
  expect(r.firstAuths >= 2, 'both pages authenticated');
  expect(r.renewedAuths >= 2 && r.renewedFailures.length === 0, 'renewal without failures');
  expect(r.renewedWithNewTokens, 'renewed with fresh tokens');
  expect(r.afterRenewal, 'edits after renewal');
  expect(r.pageFailures.length === 0, 'no authentication failure seen by the pages');
  expect(r.tokenRequests.every((n) => n >= 2), 'each page fetched a second token');
  expect(r.foreign.refusedByServer && r.foreign.subject === 'alice', 'foreign room refused');
  expect(r.logout.logoutStatus === 204, 'logout');
  expect(r.logout.error?.name === 'RealtimeTokenError' && r.logout.error?.status === 401
    && r.logout.error?.code === 'unauthenticated', '401 after logout');
  expect(r.logout.unauthenticatedCalls === 1, 'onUnauthenticated once');
  return fails;
}

let browser = null;
try {
  const client = packedClient();
  page = await bundle(client.dir);
  await redis.connect();
  cleanups.push(() => redis.quit());
  await collab.listen();
  collab.httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  cleanups.push(() => collab.destroy());
  const httpApp = app().listen(0, '127.0.0.1');
  await new Promise((r) => httpApp.once('listening', r));
  cleanups.push(() => new Promise((r) => { httpApp.closeAllConnections(); httpApp.close(r); }));
  const appPort = httpApp.address().port;
  emit({ appPort });

  const servicePort = await new Promise((resolve) => {
    readline.createInterface({ input: process.stdin }).once('line', (l) => resolve(l.trim()));
  });
  const proxyPort = await nginx(appPort, servicePort);
  const wsUrl = `ws://127.0.0.1:${collab.address.port}`;
  appConfig = {
    'cross-origin': { tokenUrl: `http://localhost:${servicePort}/api/realtime-token`, wsUrl },
    'same-origin': { tokenUrl: '/api/realtime-token', wsUrl },
  };
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  cleanups.push(() => browser.close());
  const crossOrigin = await scenario(browser, `http://localhost:${appPort}`, 'document-cross');
  const sameOrigin = await scenario(browser, `http://localhost:${proxyPort}`, 'document-same');
  const fails = [...judge(crossOrigin).map((f) => `cross-origin: ${f}`), ...judge(sameOrigin).map((f) => `same-origin: ${f}`)];
  emit({
    ok: fails.length === 0,
    fails,
    client: client.tarball,
    crossOrigin,
    sameOrigin,
    elapsedMs: Date.now() - started,
  });
  await shutdown(fails.length === 0 ? 0 : 1);
} catch (e) {
  emit({ ok: false, error: String(e?.stack ?? e), elapsedMs: Date.now() - started });
  await shutdown(2);
}
