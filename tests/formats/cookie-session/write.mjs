// Writes cookie-session cookies with the real library: for each case on
// stdin ({"cases": [{"keys": [...], "name"?: "session", "session": {...}}]})
// an Express app with cookieSession({name, keys}) sets req.session and the
// Set-Cookie pair it answers becomes one Cookie header on stdout
// ({"cookies": ["session=..; session.sig=.."]}).
import express from 'express';
import cookieSession from 'cookie-session';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => { text += d; });
  process.stdin.on('end', () => resolve(text));
}));

async function write({ keys, name = 'session', session }) {
  const app = express();
  app.use(cookieSession({ name, keys }));
  app.get('/login', (req, res) => {
    Object.assign(req.session, session);
    res.end('ok');
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}/login`);
    return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  } finally {
    server.close();
  }
}

const cookies = [];
for (const c of input.cases) cookies.push(await write(c));
process.stdout.write(JSON.stringify({ cookies }));
