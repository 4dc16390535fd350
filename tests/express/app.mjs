// A real Express app whose sessions the service must read: express-session
// with connect-redis (STORE=redis) or connect-pg-simple (STORE=pg). Driven by
// tests/api/express_compat.rs.
//
// Env: STORE=redis|pg, SESSION_SECRET, REDIS_URL + PREFIX (redis key prefix),
// DATABASE_URL + TABLE (pg table, created by the Rust test from
// connect-pg-simple's table.sql).
//
// POST /login?user=alice  sets session.userId and session.org = 'acme'
// POST /logout            destroys the session
//
// Listens on 127.0.0.1:<random>, prints `listening <port>` on stdout, and
// exits when stdin closes, on SIGTERM/SIGINT, or after 60 s regardless.

import express from 'express';
import session from 'express-session';

const LIFETIME_MS = 60_000;

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`app.mjs: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const closers = [];
let exiting = false;
async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  // Best effort, bounded: never hang on a store that does not answer.
  const force = setTimeout(() => process.exit(code), 2_000);
  force.unref();
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // already closed or unreachable
    }
  }
  process.exit(code);
}

setTimeout(() => {
  console.error('app.mjs: lifetime exceeded, exiting');
  shutdown(3);
}, LIFETIME_MS).unref();
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

async function makeStore(kind) {
  if (kind === 'redis') {
    const { RedisStore } = await import('connect-redis');
    const { createClient } = await import('redis');
    const client = createClient({ url: need('REDIS_URL') });
    client.on('error', (err) => console.error('app.mjs: redis:', err.message));
    await client.connect();
    closers.push(() => client.quit());
    return new RedisStore({ client, prefix: need('PREFIX') });
  }
  if (kind === 'pg') {
    const { default: connectPgSimple } = await import('connect-pg-simple');
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: need('DATABASE_URL'), max: 2 });
    closers.push(() => pool.end());
    const PgStore = connectPgSimple(session);
    return new PgStore({
      pool,
      tableName: need('TABLE'),
      createTableIfMissing: false,
      pruneSessionInterval: false,
    });
  }
  throw new Error(`STORE must be redis or pg, not ${JSON.stringify(kind)}`);
}

try {
  const store = await makeStore(process.env.STORE);
  const app = express();
  app.use(
    session({
      store,
      secret: need('SESSION_SECRET'),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: 86_400_000 },
    }),
  );

  app.post('/login', (req, res) => {
    const user = String(req.query.user ?? '');
    if (!user) {
      res.status(400).json({ error: 'user is required' });
      return;
    }
    req.session.userId = user;
    req.session.org = 'acme';
    // express-session saves to the store before the response ends.
    res.json({ ok: true, user, sid: req.sessionID });
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) {
        next(err);
        return;
      }
      res.json({ ok: true });
    });
  });

  app.use((err, _req, res, _next) => {
    console.error('app.mjs:', err);
    res.status(500).json({ error: String(err?.message ?? err) });
  });

  const server = app.listen(0, '127.0.0.1', () => {
    console.log(`listening ${server.address().port}`);
  });
  server.on('error', (err) => {
    console.error('app.mjs: listen:', err.message);
    shutdown(1);
  });
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
} catch (err) {
  console.error('app.mjs: startup failed:', err?.message ?? err);
  shutdown(1);
}
