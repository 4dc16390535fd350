// Headless-Chromium end-to-end driver for the Rust suite (tests/api/browser.rs).
//
// Protocol (stdout is JSON lines):
//   1. Serves the frontend page on 127.0.0.1:0 (reached as http://localhost:<frontPort>) and
//      a second server for disallowed origins; prints {"frontPort": n, "otherPort": m}.
//   2. Reads the service's port as one line on stdin (or from SERVICE_PORT), after the caller
//      has started the service with ALLOWED_ORIGINS=http://localhost:<frontPort>.
//   3. Drives Chromium through the scenarios; prints one JSON result line; exit 0 iff all
//      checks passed (1: a check failed, 2: error or deadline).
// Env: SESSION_SECRET, TEST_JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE; optional CHROMIUM (default
// /usr/bin/chromium), DEADLINE_MS (default 30000). Uses the system Chromium; downloads nothing.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import signature from 'cookie-signature';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const joseDir = path.join(here, 'node_modules/jose/dist/webapi');
const started = Date.now();
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const SESSION_SECRET = env('SESSION_SECRET');
const jwtOpts = { secret: env('TEST_JWT_SECRET'), issuer: env('JWT_ISSUER'), audience: env('JWT_AUDIENCE') };
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DEADLINE_MS = Number(process.env.DEADLINE_MS || 30000);
const USER = 'alice';

const servers = [];
let browser = null;

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function shutdown() {
  await browser?.close().catch(() => {});
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
}

const deadline = setTimeout(() => {
  emit({ ok: false, error: `deadline of ${DEADLINE_MS} ms exceeded`, elapsedMs: Date.now() - started });
  // Playwright kills the browser it launched when the process exits.
  process.exit(2);
}, DEADLINE_MS);

// ---- The frontend (and the disallowed origin's copy of it) -----------------------------

let tokenUrl = null;

async function handle(req, res) {
  const url = new URL(req.url, 'http://placeholder');
  if (req.method === 'GET' && url.pathname === '/login') {
    // What an Express app with cookie-parser / express-session sets on login.
    const value = encodeURIComponent(`s:${signature.sign(USER, SESSION_SECRET)}`);
    res.writeHead(302, {
      'Set-Cookie': `session=${value}; Path=/; HttpOnly; SameSite=Lax`,
      Location: '/',
    });
    return res.end();
  }
  if (req.method === 'GET' && url.pathname === '/') {
    const html = (await readFile(path.join(here, 'app.html'), 'utf8')).replace('{{TOKEN_URL}}', tokenUrl);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    return res.end(html);
  }
  if (req.method === 'GET' && url.pathname.startsWith('/jose/') && url.pathname.endsWith('.js')) {
    const file = path.resolve(joseDir, `.${url.pathname.slice('/jose'.length)}`);
    if (file.startsWith(joseDir + path.sep)) {
      try {
        const js = await readFile(file);
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
        return res.end(js);
      } catch { /* 404 below */ }
    }
  }
  if (url.pathname === '/ping') {
    res.writeHead(204);
    return res.end();
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}

function listen() {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      handle(req, res).catch((e) => {
        res.writeHead(500);
        res.end(String(e));
      });
    });
    servers.push(server);
    server.once('error', reject);
    // Node may resolve `localhost` to ::1 only; the browser's `localhost` reaches 127.0.0.1.
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function servicePort() {
  if (process.env.SERVICE_PORT) return Number(process.env.SERVICE_PORT);
  const rl = readline.createInterface({ input: process.stdin });
  const [line] = await rl[Symbol.asyncIterator]().next().then((r) => [r.value]);
  rl.close();
  process.stdin.destroy();
  const port = Number(line?.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad service port on stdin: ${line}`);
  return port;
}

// The same request a page on `origin` would send, from Node, to read the service's answer.
function postFromNode(origin, site, cookie) {
  return new Promise((resolve, reject) => {
    const u = new URL(tokenUrl);
    const headers = { Origin: origin, 'Sec-Fetch-Site': site, 'Sec-Fetch-Mode': 'cors', 'Content-Length': 0 };
    if (cookie) headers.Cookie = cookie;
    const req = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        let body = null;
        try { body = JSON.parse(data); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, error: body?.error ?? null, acao: res.headers['access-control-allow-origin'] ?? null });
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// ---- Browser helpers -------------------------------------------------------------------

// Records the page's token requests: Playwright's events (what a test author sees) and the
// DevTools protocol's (the cookies the browser attached, the status behind a CORS failure).
async function watchTokenRequests(page) {
  const seen = [];
  const byId = new Map();
  page.on('request', (r) => {
    if (r.url() === tokenUrl && r.method() === 'POST') seen.push({ request: r, status: null, failure: null });
  });
  page.on('response', (r) => {
    const entry = seen.find((e) => e.request === r.request());
    if (entry) entry.status = r.status();
  });
  page.on('requestfailed', (r) => {
    const entry = seen.find((e) => e.request === r);
    if (entry) entry.failure = r.failure()?.errorText ?? 'failed';
  });
  const cdp = await page.context().newCDPSession(page);
  const info = (id) => byId.get(id) ?? byId.set(id, {}).get(id);
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url === tokenUrl && e.request.method === 'POST') info(e.requestId).token = true;
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const i = info(e.requestId);
    i.sentCookies = e.associatedCookies.filter((c) => c.blockedReasons.length === 0).map((c) => c.cookie.name);
    i.blockedCookies = e.associatedCookies.filter((c) => c.blockedReasons.length > 0)
      .map((c) => `${c.cookie.name}: ${c.blockedReasons.join(',')}`);
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => { info(e.requestId).wireStatus = e.statusCode; });
  cdp.on('Network.loadingFailed', (e) => {
    info(e.requestId).corsError = e.corsErrorStatus?.corsError ?? null;
    info(e.requestId).failed = e.errorText;
  });
  await cdp.send('Network.enable');
  seen.wire = async () => {
    // The extra-info events travel apart from the others: give them a moment to land.
    const until = Date.now() + 3000;
    const tokens = () => [...byId.values()].filter((i) => i.token);
    // (A body nobody reads, as on authToken's error path, never finishes loading: don't wait for it.)
    const landed = (i) => i.sentCookies && (i.wireStatus !== undefined || i.failed);
    while (Date.now() < until && !tokens().every(landed)) {
      await new Promise((r) => setTimeout(r, 25));
    }
    return tokens().map(({ token, ...rest }) => rest);
  };
  return seen;
}

// Waits until every network event the page emitted before now has reached us: the
// browser reports a page's requests in order, so seeing a later request is enough.
async function barrier(page) {
  await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).pathname === '/ping'),
    page.evaluate(() => fetch('/ping', { cache: 'no-store' }).then(() => {})),
  ]);
}

async function openPage(context, url) {
  const page = await context.newPage();
  const seen = await watchTokenRequests(page);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.e2e !== undefined);
  return { page, seen };
}

// Whether the browser attached the session cookie to the first token request.
const sessionSent = (wire) => wire[0]?.sentCookies?.includes('session') ?? null;

// ---- Scenarios -------------------------------------------------------------------------

async function main() {
  const frontPort = await listen();
  const otherPort = await listen();
  emit({ frontPort, otherPort });
  const front = `http://localhost:${frontPort}`;
  tokenUrl = `http://localhost:${await servicePort()}/api/realtime-token`;

  const t0 = Date.now();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
  const out = { browserVersion: browser.version(), timingsMs: { launch: Date.now() - t0 } };
  let mark = Date.now();
  const lap = (name) => { out.timingsMs[name] = Date.now() - mark; mark = Date.now(); };

  // 1-4: log in on the allowed origin, fetch and verify in the page, cache.
  const context = await browser.newContext();
  context.setDefaultTimeout(10000);
  {
    const { page, seen } = await openPage(context, `${front}/login`);
    const first = await page.evaluate(() => window.e2e.fetchToken());
    await barrier(page);
    const token = first.body?.token;
    const verified = token ? await page.evaluate(([t, o]) => window.e2e.verify(t, o), [token, jwtOpts]) : null;
    const wrongSecret = token
      ? await page.evaluate(([t, o]) => window.e2e.verify(t, o), [token, { ...jwtOpts, secret: `${jwtOpts.secret}-wrong` }])
      : null;
    const response = await seen[0]?.request.response();
    const wire = await seen.wire();
    out.loggedIn = {
      landedOn: page.url(),
      status: first.status ?? null,
      fetchError: first.ok ? null : `${first.errorName}: ${first.errorMessage}`,
      verifiedInPage: verified?.verified ?? false,
      verifyError: verified?.error ?? null,
      alg: verified?.protectedHeader?.alg ?? null,
      sub: verified?.payload?.sub ?? null,
      iss: verified?.payload?.iss ?? null,
      aud: verified?.payload?.aud ?? null,
      rooms: first.body?.rooms ?? null,
      expiresAtIsExp: verified?.payload?.exp !== undefined && first.body?.expiresAt === verified.payload.exp,
      expiresInIsTtl: verified?.payload?.exp !== undefined
        && first.body?.expiresIn === verified.payload.exp - verified.payload.iat,
      wrongSecretRejected: wrongSecret?.verified === false,
      cookieSent: sessionSent(wire),
      cookieVisibleToScript: await page.evaluate(() => window.e2e.sessionCookieVisible()),
      allowOrigin: (await response?.headerValue('access-control-allow-origin')) ?? null,
      requests: seen.length,
    };

    let before = seen.length;
    const twice = await page.evaluate(() => window.e2e.authTokenTwice());
    await barrier(page);
    const twoCallRequests = seen.length - before;
    const twiceVerified = await page.evaluate(([t, o]) => window.e2e.verify(t, o), [twice.first, jwtOpts]);

    before = seen.length;
    await page.evaluate(() => window.e2e.authTokenAfterExpiry());
    await barrier(page);
    out.cache = {
      requestsForTwoCalls: twoCallRequests,
      sameToken: twice.first === twice.second,
      tokenVerified: twiceVerified.verified,
      requestsAfterExpiry: seen.length - before,
    };
    await page.close();
  }
  lap('loggedInAndCache');

  // 5: pages on disallowed origins, in the same (logged-in) browser context. On
  // localhost:<otherPort> the Lax cookie is sent (same site), so only the origin check stops it.
  out.disallowed = [];
  for (const [origin, site] of [[`http://127.0.0.1:${otherPort}`, 'cross-site'], [`http://localhost:${otherPort}`, 'same-site']]) {
    const { page, seen } = await openPage(context, `${origin}/`);
    const result = await page.evaluate(() => window.e2e.fetchToken());
    await barrier(page);
    const [wire] = await seen.wire();
    const cookie = (await context.cookies(tokenUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const node = await postFromNode(origin, site, site === 'same-site' ? cookie : null);
    out.disallowed.push({
      origin,
      fetchRejected: !result.ok,
      errorName: result.errorName ?? null,
      readableStatus: result.ok ? result.status : null,
      requests: seen.length,
      // Playwright reports no response for a CORS failure; the protocol has the status.
      playwrightStatus: seen[0]?.status ?? null,
      playwrightFailure: seen[0]?.failure ?? null,
      wireStatus: wire?.wireStatus ?? null,
      corsError: wire?.corsError ?? null,
      cookieSent: sessionSent([wire]),
      blockedCookies: wire?.blockedCookies ?? null,
      nodeStatus: node.status,
      nodeError: node.error,
      nodeAllowOrigin: node.acao,
    });
    await page.close();
  }
  await context.close();
  lap('disallowed');

  // 6: a fresh context, no session cookie, on the allowed origin.
  const anon = await browser.newContext();
  anon.setDefaultTimeout(10000);
  {
    const { page, seen } = await openPage(anon, `${front}/`);
    const result = await page.evaluate(() => window.e2e.fetchToken());
    const authTokenError = await page.evaluate(() => window.e2e.authTokenError());
    await barrier(page);
    out.noCookie = {
      cookies: (await anon.cookies()).length,
      readable: result.ok,
      status: result.status ?? null,
      error: result.body?.error ?? null,
      hasToken: result.body?.token !== undefined,
      authTokenError,
      cookieSent: sessionSent(await seen.wire()),
      requests: seen.length,
    };
  }
  await anon.close();
  lap('noCookie');

  const checks = {
    tokenVerifiedInPage: out.loggedIn.status === 200 && out.loggedIn.verifiedInPage && out.loggedIn.alg === 'HS256',
    subIsAlice: out.loggedIn.sub === USER,
    issAud: out.loggedIn.iss === jwtOpts.issuer && out.loggedIn.aud === jwtOpts.audience,
    cookieSentNotReadable: out.loggedIn.cookieSent === true && out.loggedIn.cookieVisibleToScript === false,
    oneRequestForTwoCalls: out.cache.requestsForTwoCalls === 1 && out.cache.sameToken && out.cache.tokenVerified,
    refetchAfterExpiry: out.cache.requestsAfterExpiry === 1,
    disallowedBlocked: out.disallowed.every((d) => d.fetchRejected && d.errorName === 'TypeError'
      && d.nodeStatus === 403 && d.nodeError === 'origin_not_allowed' && d.nodeAllowOrigin === null
      && d.wireStatus === 403),
    noCookie401: out.noCookie.readable && out.noCookie.status === 401 && out.noCookie.error === 'unauthenticated'
      && out.noCookie.authTokenError === 'token request failed: 401',
  };
  out.checks = checks;
  out.ok = Object.values(checks).every(Boolean);
  out.elapsedMs = Date.now() - started;
  return out;
}

let code = 2;
try {
  const out = await main();
  emit(out);
  code = out.ok ? 0 : 1;
} catch (e) {
  emit({ ok: false, error: String(e?.stack ?? e), elapsedMs: Date.now() - started });
} finally {
  clearTimeout(deadline);
  await shutdown();
}
process.exit(code);
