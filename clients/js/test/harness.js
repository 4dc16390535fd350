// A controllable world for the unit tests: a monotonic clock, a wall clock
// that can be set anywhere, a sleep that advances both, and a stub fetch that
// answers from a script and records every call.

export function world({ wallOffset = 0 } = {}) {
  const w = {
    mono: 1000,
    wall: 1_800_000_000_000 + wallOffset,
    calls: [],
    sleeps: [],
    script: [],
    now: () => w.mono,
    wallNow: () => w.wall,
    /** Advances both clocks (time passing while the page runs). */
    advance(ms) {
      w.mono += ms;
      w.wall += ms;
    },
    sleep: async (ms) => {
      w.sleeps.push(ms);
      w.advance(ms);
    },
    random: () => 0.5,
    /** Queues answers: a Response-like object, an Error to throw, or a function. */
    answer(...items) {
      w.script.push(...items);
    },
    fetch: async (url, init) => {
      w.calls.push({ url, init });
      // Let other callers pile up while this request is "on the wire".
      await Promise.resolve();
      const next = w.script.shift();
      if (next === undefined) throw new Error('the test scripted no more answers');
      if (next instanceof Error) throw next;
      return typeof next === 'function' ? next(url, init) : next;
    },
  };
  w.options = (extra = {}) => ({
    fetch: w.fetch,
    now: w.now,
    wallNow: w.wallNow,
    sleep: w.sleep,
    random: w.random,
    ...extra,
  });
  return w;
}

/** A Response-like answer with a JSON body. */
export function json(status, body, headers = {}) {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (name) => map.get(name.toLowerCase()) ?? null },
    json: async () => body,
  };
}

let serial = 0;
/** A 200 like the service's, with a fresh token each time. */
export function token(expiresIn = 3600) {
  serial += 1;
  return json(200, { token: `token-${serial}`, expiresAt: 0, expiresIn, rooms: ['document-*'] });
}
