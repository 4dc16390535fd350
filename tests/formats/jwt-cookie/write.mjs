// Signs JWS session cookies with the real jose library. Request on stdin:
// {"keys": {"<id>": "RS256" | "ES256" | "EdDSA" | {"alg": "ES256", "jwk": {..private JWK..}}},
//  "cases": [{"key": "<id>" | "secret": "..." | "pemAsSecret": "<id>" | "unsecured": true,
//             "alg"?: "RS256", "kid"?: "..", "typ"?: "JWT", "header"?: {..}, "claims": {..},
//             "expiresIn"?: 3600, "name"?: "__session"}]}
// Every key is generated fresh, except one given as a private JWK (a
// published test vector's), which is imported and signs only. Answer on stdout:
// {"cookies": ["__session=<jws>", ..],
//  "keys": {"<id>": {"alg": .., "pem": "<SPKI PEM>", "jwk": {..public JWK..}}}}
// `expiresIn` is seconds from now (negative: already expired); `exp` is
// left out when it is null. `pemAsSecret` signs with HS256 using the named
// key's PEM text as the HMAC secret (the algorithm-confusion attack).
// `header` adds protected header parameters (e.g. an embedded `jwk`); a
// `{"jwkOf": "<id>"}` value there stands for that key's public JWK.
import * as jose from 'jose';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));

const keys = {};
const out = {};
for (const [id, spec] of Object.entries(input.keys ?? {})) {
  if (typeof spec !== 'string') {
    keys[id] = { alg: spec.alg, privateKey: await jose.importJWK(spec.jwk, spec.alg) };
    out[id] = { alg: spec.alg };
    continue;
  }
  const alg = spec;
  const pair = await jose.generateKeyPair(alg, { extractable: true });
  keys[id] = { alg, ...pair };
  out[id] = {
    alg,
    pem: await jose.exportSPKI(pair.publicKey),
    jwk: { ...(await jose.exportJWK(pair.publicKey)), alg },
  };
}

async function sign(c) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iat: now, ...c.claims };
  const expiresIn = c.expiresIn === undefined ? 3600 : c.expiresIn;
  if (c.unsecured) {
    const jwt = new jose.UnsecuredJWT(claims);
    if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn);
    return jwt.encode();
  }
  let alg;
  let key;
  if (c.secret !== undefined) {
    alg = c.alg ?? 'HS256';
    key = new TextEncoder().encode(c.secret);
  } else if (c.pemAsSecret !== undefined) {
    alg = 'HS256';
    key = new TextEncoder().encode(out[c.pemAsSecret].pem);
  } else {
    alg = c.alg ?? keys[c.key].alg;
    key = keys[c.key].privateKey;
  }
  const header = { alg, typ: c.typ ?? 'JWT' };
  if (c.kid !== undefined) header.kid = c.kid;
  for (const [name, value] of Object.entries(c.header ?? {})) {
    header[name] = value?.jwkOf !== undefined ? out[value.jwkOf].jwk : value;
  }
  const jwt = new jose.SignJWT(claims).setProtectedHeader(header);
  if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn);
  return jwt.sign(key);
}

const cookies = [];
for (const c of input.cases) cookies.push(`${c.name ?? '__session'}=${await sign(c)}`);
process.stdout.write(JSON.stringify({ cookies, keys: out }));
