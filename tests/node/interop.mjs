// Interop peer for the Rust test suite.
//   node interop.mjs verify <token>   verifies with jsonwebtoken and jose, prints {"jsonwebtoken": ..., "jose": ...}
//   node interop.mjs sign <sub>       prints a token signed by jsonwebtoken the way the SDK docs show
// Secret: TEST_JWT_SECRET; optional JWT_ISSUER / JWT_AUDIENCE, as a self-hosted realtime server reads them.
import jwt from 'jsonwebtoken';
import { jwtVerify } from 'jose';

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
} else {
  console.error('usage: node interop.mjs verify <token> | sign <sub>');
  process.exit(2);
}
