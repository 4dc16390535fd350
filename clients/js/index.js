// @realtime-token/client: the browser side of realtime-token. One function,
// createAuthToken(), returns the `authToken` a Realtime SDK provider calls:
// cached, refreshed before expiry on a monotonic clock, one request in flight,
// bounded retries. No dependencies.

/** A token request that failed; `code` is the service's stable error code. */
export class RealtimeTokenError extends Error {
  constructor(message, { status = 0, code = 'network_error', retryAfter = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RealtimeTokenError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

// Seconds in a Retry-After header (delta-seconds; an HTTP date is read
// against the wall clock, the only clock it can be read against).
function retryAfterSeconds(value, wallNow) {
  if (value == null || value === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - wallNow()) / 1000));
}

/**
 * Creates the `authToken` function for a Realtime SDK provider.
 * @param {import('./index.js').AuthTokenOptions} [options]
 */
export function createAuthToken(options = {}) {
  const {
    url = '/api/realtime-token',
    rooms,
    refreshMargin = 60,
    credentials = 'include',
    onUnauthenticated,
    deadline = 30,
    maxBackoff = 10,
  } = options;
  const fetchFn = options.fetch ?? ((...args) => globalThis.fetch(...args));
  // Monotonic milliseconds; the wall clock only to notice a sleep (below).
  const now = options.now ?? (() => globalThis.performance.now());
  const wallNow = options.wallNow ?? (() => Date.now());
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  if (rooms !== undefined && !Array.isArray(rooms)) {
    throw new TypeError('createAuthToken: `rooms` must be an array of room names');
  }

  let cached = null; // { token, receivedAt, receivedWall, freshFor }
  let inFlight = null;
  let generation = 0;

  // Milliseconds since the token arrived: the monotonic clock, unless the
  // wall clock moved further (a suspended laptop can stop the monotonic
  // clock); a wall clock that is off, or set back, never extends a token.
  const age = (entry) => Math.max(now() - entry.receivedAt, wallNow() - entry.receivedWall);

  async function request() {
    const started = now();
    const body = rooms === undefined ? undefined : JSON.stringify({ rooms });
    for (let attempt = 0; ; attempt++) {
      let res;
      let failure;
      try {
        res = await fetchFn(url, {
          method: 'POST',
          credentials,
          headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
          body,
        });
      } catch (e) {
        failure = new RealtimeTokenError(`token request failed: ${e?.message ?? e}`, { cause: e });
      }
      if (res) {
        let json = null;
        try {
          json = await res.json();
        } catch {
          // Not JSON (a proxy's error page): judged by its status alone.
        }
        if (res.ok && json && typeof json.token === 'string' && Number.isFinite(json.expiresIn)) {
          return json;
        }
        const retryAfter = retryAfterSeconds(res.headers?.get?.('Retry-After'), wallNow);
        const code = (json && typeof json.error === 'string' && json.error)
          || (res.ok ? 'invalid_response' : `http_${res.status}`);
        const message = (json && typeof json.message === 'string' && json.message)
          || `token request failed: ${res.status}`;
        failure = new RealtimeTokenError(message, { status: res.status, code, retryAfter });
        if (res.status === 401) {
          if (onUnauthenticated) {
            try {
              onUnauthenticated(failure);
            } catch {
              // The app's handler must not turn a 401 into another error.
            }
          }
          throw failure;
        }
        if (!RETRY_STATUSES.has(res.status)) throw failure;
      }
      // Retry after Retry-After, else a jittered exponential backoff; never
      // past the overall deadline.
      const backoff = Math.min(maxBackoff, 0.5 * 2 ** attempt) * (0.5 + random() / 2);
      const wait = (failure.retryAfter ?? backoff) * 1000;
      const left = deadline * 1000 - (now() - started);
      if (wait >= left) throw failure;
      await sleep(wait);
    }
  }

  function refresh() {
    if (!inFlight) {
      const mine = generation;
      inFlight = request().then(
        (json) => {
          if (mine === generation) {
            inFlight = null;
            // A margin as long as the token's life would refetch on every
            // call: keep at least half of it.
            const margin = Math.min(refreshMargin, json.expiresIn / 2);
            cached = {
              token: json.token,
              receivedAt: now(),
              receivedWall: wallNow(),
              freshFor: (json.expiresIn - margin) * 1000,
            };
          }
          return json.token;
        },
        (e) => {
          if (mine === generation) inFlight = null;
          throw e;
        },
      );
    }
    return inFlight;
  }

  async function authToken() {
    if (cached && age(cached) < cached.freshFor) return cached.token;
    return refresh();
  }

  /** Drops the cached token (and ignores a request in flight): call it on logout. */
  authToken.invalidate = () => {
    generation += 1;
    cached = null;
    inFlight = null;
  };

  return authToken;
}
