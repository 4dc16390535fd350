// Writes iron-session cookies with the real library: for each case on stdin
// ({"cases": [{"password": "..." | {"1": "...", "2": "..."}, "ttl"?: seconds,
// "cookieName"?: "app_session", "session": {...}}]}) a node:http server with
// getIronSession(req, res, {cookieName, password, ttl}) copies `session` into
// the session and calls session.save(); the Set-Cookie it answers becomes
// one Cookie header on stdout ({"cookies": ["app_session=Fe26.2*..~2"]}).
// A negative ttl is passed through as iron-session does: the seal's
// expiration is then that many seconds in the past.
import http from 'node:http';
import { getIronSession } from 'iron-session';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));

async function write({ password, ttl, cookieName = 'app_session', session }) {
  const server = http.createServer(async (req, res) => {
    try {
      const options = { cookieName, password };
      if (ttl !== undefined) options.ttl = ttl;
      const s = await getIronSession(req, res, options);
      Object.assign(s, session);
      await s.save();
      res.end('ok');
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e && e.message));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}/login`);
    if (res.status !== 200) throw new Error(`iron-session refused: ${await res.text()}`);
    return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  } finally {
    server.close();
  }
}

const cookies = [];
for (const c of input.cases) cookies.push(await write(c));
process.stdout.write(JSON.stringify({ cookies }));
