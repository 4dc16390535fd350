// Writes better-auth session cookies with the real library: better-auth
// with its PostgreSQL (Kysely) adapter on a `pg` Pool whose search_path is
// the request's schema, migrated by better-auth's own getMigrations under
// an advisory lock. For each case on stdin ({"database_url", "schema",
// "cases": [{"secret", "email", "secure"?, "agent"?, "then"?: "sign-out" |
// "expire"}]}) with `agent` sent as the User-Agent better-auth stores,
// a user signs up (or signs in when it exists) through auth.api and the
// session cookie it sets becomes one Cookie header on stdout, with the
// user id better-auth made: {"cookies": [...], "subjects": [...]}.
import pg from 'pg';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));

const { database_url: connectionString, schema } = input;
if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('schema: a plain identifier');
const pool = new pg.Pool({ connectionString, options: `-c search_path=${schema}` });

function auth(secret, secure = false) {
  return betterAuth({
    database: pool,
    secret,
    baseURL: secure ? 'https://app.example' : 'http://localhost:3000',
    advanced: { useSecureCookies: secure },
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    telemetry: { enabled: false },
  });
}

async function migrate() {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('rt-better-auth-migrate'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const { runMigrations } = await getMigrations(auth('migration-secret-0123456789abcdef').options);
    await runMigrations();
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext('rt-better-auth-migrate'))");
    client.release();
  }
}

function sessionCookie(res) {
  const pair = res.headers.getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => /^(__Secure-)?better-auth\.session_token=/.test(c));
  if (!pair) throw new Error(`no session cookie (status ${res.status})`);
  return pair;
}

async function write({ secret, email, secure = false, agent, then }) {
  const a = auth(secret, secure);
  const password = 'correct horse battery staple';
  const body = { email, password, name: 'Test User' };
  const origin = secure ? 'https://app.example' : 'http://localhost:3000';
  const headers = new Headers({ origin, ...(agent ? { 'user-agent': agent } : {}) });
  let res = await a.api.signUpEmail({ body, headers, asResponse: true });
  if (!res.ok) res = await a.api.signInEmail({ body: { email, password }, headers, asResponse: true });
  const cookie = sessionCookie(res);
  const session = await a.api.getSession({ headers: new Headers({ cookie }) });
  if (!session) throw new Error('better-auth does not read its own cookie');
  if (then === 'sign-out') {
    const out = await a.api.signOut({ headers: new Headers({ cookie, origin }), asResponse: true });
    if (!out.ok) throw new Error(`sign-out: ${out.status}`);
  } else if (then === 'expire') {
    await pool.query(
      `UPDATE "session" SET "expiresAt" = now() - interval '1 minute' WHERE "token" = $1`,
      [session.session.token],
    );
  }
  return { cookie, subject: session.user.id };
}

try {
  await migrate();
  const cookies = [];
  const subjects = [];
  for (const c of input.cases) {
    const { cookie, subject } = await write(c);
    cookies.push(cookie);
    subjects.push(subject);
  }
  process.stdout.write(JSON.stringify({ cookies, subjects }));
} finally {
  await pool.end();
}
