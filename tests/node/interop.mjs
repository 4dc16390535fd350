// Interop peer for the Rust test suite.
//   node interop.mjs verify <token>   verifies with jsonwebtoken and jose, prints {"jsonwebtoken": ..., "jose": ...}
//   node interop.mjs sign <sub>       prints a token signed by jsonwebtoken the way the SDK docs show
//   node interop.mjs jwks <url> <alg> <token>...
//       jose's createRemoteJWKSet against the served JWKS, alg pinned; prints
//       {"thumbprints": [jose's RFC 7638 thumbprint of each served key], "results": [per token]}
//   node interop.mjs pem <public PEM file> <alg> <token>...
//       Node jsonwebtoken with the public key, alg pinned; prints [per token]
// A result is {"payload", "header"} or {"error", "code"}.
// Secret: TEST_JWT_SECRET; optional JWT_ISSUER / JWT_AUDIENCE, as a self-hosted realtime server reads them.
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const [mode, arg] = process.argv.slice(2);
const secret = process.env.TEST_JWT_SECRET;
const issuer = process.env.JWT_ISSUER || undefined;
const audience = process.env.JWT_AUDIENCE || undefined;

if (mode === 'sign') {
  const opts = { expiresIn: '1h', algorithm: 'HS256' };
  if (issuer) opts.issuer = issuer;
  if (audience) opts.audience = audience;
  console.log(jwt.sign({ sub: arg, permissions: { rooms: ['document-*'] } }, secret, opts));
} else if (mode === 'verify') {
  const out = {};
  try {
    out.jsonwebtoken = jwt.verify(arg, secret, { algorithms: ['HS256'], issuer, audience });
  } catch (e) {
    out.jsonwebtoken = { error: e.message };
  }
  try {
    const { payload, protectedHeader } = await jwtVerify(arg, new TextEncoder().encode(secret), {
      algorithms: ['HS256'], issuer, audience, requiredClaims: ['sub', 'exp'],
    });
    out.jose = payload;
    out.joseHeader = protectedHeader;
  } catch (e) {
    out.jose = { error: e.message };
  }
  console.log(JSON.stringify(out));
} else if (mode === 'jwks') {
  const [url, alg, ...tokens] = process.argv.slice(3);
  const served = await (await fetch(url)).json();
  const thumbprints = await Promise.all(served.keys.map((k) => calculateJwkThumbprint(k)));
  // One key set for every token, as a verifier keeps it.
  const keySet = createRemoteJWKSet(new URL(url));
  const results = [];
  for (const token of tokens) {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        algorithms: [alg], issuer, audience, requiredClaims: ['sub', 'exp'],
      });
      results.push({ payload, header: protectedHeader });
    } catch (e) {
      results.push({ error: e.message, code: e.code });
    }
  }
  console.log(JSON.stringify({ thumbprints, results }));
} else if (mode === 'pem') {
  const [file, alg, ...tokens] = process.argv.slice(3);
  const publicKey = readFileSync(file, 'utf8');
  const results = tokens.map((token) => {
    try {
      const payload = jwt.verify(token, publicKey, { algorithms: [alg], issuer, audience });
      return { payload, header: decodeProtectedHeader(token) };
    } catch (e) {
      return { error: e.message, code: e.name };
    }
  });
  console.log(JSON.stringify(results));
} else {
  console.error('usage: node interop.mjs verify <token> | sign <sub> | jwks <url> <alg> <token>... | pem <file> <alg> <token>...');
  process.exit(2);
}
