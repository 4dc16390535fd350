// Writes Auth.js v5 and NextAuth.js v4 JWT session cookies with the real
// libraries. For each case on stdin ({"cases": [{"format": "authjs" |
// "next-auth", "secret": "...", "token": {...}, "maxAge"?: seconds,
// "secure"?: bool, "pad"?: n}]}) the library's own public `encode`
// (`@auth/core/jwt`, `next-auth/jwt`) encrypts `token` (plus a `pad` claim
// of n random characters, to force chunking) and the library's own
// SessionStore splits it into cookies; they become one Cookie header on
// stdout ({"cookies": ["authjs.session-token=.."]}). SessionStore is not
// exported by either package, so it is imported by file path.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { encode as encodeAuthJs } from '@auth/core/jwt';
import { SessionStore as AuthJsStore } from './node_modules/@auth/core/lib/utils/cookie.js';

const require = createRequire(import.meta.url);
const { encode: encodeNextAuth } = require('next-auth/jwt');
const { SessionStore: NextAuthStore } = require('./node_modules/next-auth/core/lib/cookie.js');

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));

// SessionStore logs a debug line when it chunks; stdout is for the answer.
const logger = { debug() {}, error() {}, warn() {} };

async function write({ format, secret, token, maxAge, secure = false, pad }) {
  if (pad) token = { ...token, pad: randomBytes(pad).toString('base64url').slice(0, pad) };
  const prefix = secure ? '__Secure-' : '';
  let name, value, store;
  if (format === 'authjs') {
    name = `${prefix}authjs.session-token`;
    // As Auth.js's session action does: the cookie's name is the salt.
    value = await encodeAuthJs({ token, secret, salt: name, maxAge });
    store = new AuthJsStore({ name, options: {} }, {}, logger);
  } else if (format === 'next-auth') {
    name = `${prefix}next-auth.session-token`;
    value = await encodeNextAuth({ token, secret, maxAge });
    store = new NextAuthStore({ name, options: {} }, { cookies: {}, headers: {} }, logger);
  } else {
    throw new Error(`unknown format ${format}`);
  }
  return store.chunk(value, {}).map((c) => `${c.name}=${c.value}`).join('; ');
}

const cookies = [];
for (const c of input.cases) cookies.push(await write(c));
process.stdout.write(JSON.stringify({ cookies }));
