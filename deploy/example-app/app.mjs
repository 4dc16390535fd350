// An example app for `docker compose up` (deploy/compose.yaml): Express with
// express-session in Redis, as most teams run it, and a page that gets a
// realtime token from the service next to it.
//
//   http://localhost:3000/login?user=alice   logs in (sets session.userId)
//   http://localhost:3000/                   asks realtime-token for a token
//
// The browser sends the session cookie to the service on :8080 too: cookies
// are per host, not per port.
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();

const app = express();
app.use(session({
  store: new RedisStore({ client, prefix: 'sess:' }),
  secret: process.env.SESSION_SECRET.split(','),
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 86_400_000 },
}));

app.get('/login', (req, res) => {
  req.session.userId = String(req.query.user || 'alice');
  res.redirect('/');
});

app.get('/', (req, res) => {
  res.type('html').send(`<!doctype html>
<p>Logged in as ${req.session.userId ? escape(req.session.userId) : 'nobody (<a href="/login?user=alice">log in</a>)'}</p>
<button id="get">Get a realtime token</button>
<pre id="out"></pre>
<script>
  document.getElementById('get').onclick = async () => {
    const res = await fetch('${process.env.TOKEN_URL}', { method: 'POST', credentials: 'include' });
    document.getElementById('out').textContent = res.status + ' ' + await res.text();
  };
</script>`);
});

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

app.listen(3000, '0.0.0.0', () => console.log('example app on :3000'));
