// Writes Supabase session cookies with the real @supabase/ssr. For each case
// the real `createServerClient` signs in with `signInWithPassword` and its
// cookie methods capture the cookies it sets (name, chunks, `base64-`
// encoding: all the library's). Only the auth server (GoTrue) is stubbed: a
// local HTTP server on 127.0.0.1:0 answers `POST /auth/v1/token` with a
// session whose access_token jose signs here, as GoTrue would.
//
// Request on stdin:
// {"url": "https://<ref>.supabase.co",            // the project URL the client is given
//  "keys": {"<id>": "ES256" | "RS256"},           // generated fresh
//  "cases": [{"secret": ".." | "key": "<id>", "kid"?: "..", "sub": "..",
//             "email"?: "..", "expiresIn"?: 3600, "metadataBytes"?: n,
//             "encoding"?: "base64url" | "raw", "tamper"?: "<sub>"}]}
// `expiresIn` is seconds from now (negative: expired); `metadataBytes` adds
// that much user_metadata (to the user and the token) so the cookie chunks;
// `tamper` puts a token with that sub's claims under this case's signature.
// The client's requests to `url` go to the stub (a `global.fetch` that
// rewrites the origin), so the cookie name is derived from `url` by the
// library itself. Answer on stdout:
// {"cookies": ["sb-<ref>-auth-token=..; ..", ..], "names": [[..], ..],
//  "keys": {"<id>": {"alg": .., "jwk": {..public JWK..}}}}
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { createServerClient } from '@supabase/ssr';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));
const projectUrl = new URL(input.url);

const keys = {};
const out = {};
for (const [id, alg] of Object.entries(input.keys ?? {})) {
  const pair = await jose.generateKeyPair(alg, { extractable: true });
  keys[id] = { alg, ...pair };
  out[id] = { alg, jwk: { ...(await jose.exportJWK(pair.publicKey)), alg } };
}

// The claims GoTrue puts in an access token, and the user it answers.
function user(c, metadata) {
  return {
    id: c.sub,
    aud: 'authenticated',
    role: 'authenticated',
    email: c.email ?? `${c.sub}@example.com`,
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: metadata,
    identities: [],
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    is_anonymous: false,
  };
}

async function accessToken(c, sub, metadata, expiresAt) {
  const now = Math.floor(Date.now() / 1000);
  const u = user({ ...c, sub }, metadata);
  const claims = {
    aud: 'authenticated', exp: expiresAt, iat: now, iss: `${projectUrl.origin}/auth/v1`,
    sub, email: u.email, phone: '', app_metadata: u.app_metadata, user_metadata: metadata,
    role: 'authenticated', aal: 'aal1', amr: [{ method: 'password', timestamp: now }],
    session_id: randomUUID(), is_anonymous: false,
  };
  let alg;
  let key;
  if (c.secret !== undefined) {
    alg = 'HS256';
    key = new TextEncoder().encode(c.secret);
  } else {
    alg = keys[c.key].alg;
    key = keys[c.key].privateKey;
  }
  const header = { alg, typ: 'JWT' };
  if (c.kid !== undefined) header.kid = c.kid;
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
}

async function session(c) {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = c.expiresIn ?? 3600;
  const expiresAt = now + expiresIn;
  const metadata = { name: c.sub };
  if (c.metadataBytes) metadata.bio = randomBytes(c.metadataBytes).toString('base64url').slice(0, c.metadataBytes);
  let token = await accessToken(c, c.sub, metadata, expiresAt);
  if (c.tamper !== undefined) {
    const other = await accessToken(c, c.tamper, metadata, expiresAt);
    const [h, , s] = token.split('.');
    token = `${h}.${other.split('.')[1]}.${s}`;
  }
  return {
    access_token: token, token_type: 'bearer', expires_in: expiresIn, expires_at: expiresAt,
    refresh_token: randomBytes(9).toString('base64url'), user: user(c, metadata),
  };
}

// The stubbed GoTrue: answers the password grant with the pending session.
let pending = null;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const url = new URL(req.url, 'http://stub');
    if (req.method === 'POST' && url.pathname === '/auth/v1/token'
        && url.searchParams.get('grant_type') === 'password' && pending) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(pending));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 404, msg: `stub: no ${req.method} ${url.pathname}` }));
    }
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const stub = `http://127.0.0.1:${server.address().port}`;
const toStub = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.origin !== projectUrl.origin) throw new Error(`unexpected request to ${url.origin}`);
  return fetch(`${stub}${url.pathname}${url.search}`, init);
};

class NoWebSocket {
  constructor() { throw new Error('realtime is not used by this writer'); }
}

async function write(c) {
  pending = await session(c);
  const set = [];
  const client = createServerClient(projectUrl.origin, 'stub-anon-key', {
    cookies: { getAll: () => [], setAll: (cookies) => { set.push(...cookies); } },
    cookieEncoding: c.encoding ?? 'base64url',
    global: { fetch: toStub },
    // Node 20 has no global WebSocket, which supabase-js wants at start-up;
    // realtime is never connected here.
    realtime: { transport: NoWebSocket },
  });
  const { error } = await client.auth.signInWithPassword({ email: `${c.sub}@example.com`, password: 'pw' });
  if (error) throw error;
  const written = set.filter((k) => k.value !== '');
  if (written.length === 0) throw new Error('createServerClient set no cookie');
  // As a browser sends them back: name=value, the value URI-encoded as
  // frameworks serialize it (Next.js, the `cookie` package).
  return {
    header: written.map((k) => `${k.name}=${encodeURIComponent(k.value)}`).join('; '),
    names: written.map((k) => k.name),
  };
}

const cookies = [];
const names = [];
for (const c of input.cases) {
  const w = await write(c);
  cookies.push(w.header);
  names.push(w.names);
}
server.close();
process.stdout.write(JSON.stringify({ cookies, names, keys: out }));
