/** A token request that failed. */
export declare class RealtimeTokenError extends Error {
  readonly name: 'RealtimeTokenError';
  /** The HTTP status; 0 when no answer arrived (network error). */
  readonly status: number;
  /**
   * The service's stable error code (`unauthenticated`, `room_not_allowed`,
   * `rate_limited`, `session_backend_unavailable`, ...), `http_<status>` for
   * an answer without one, `network_error` when none arrived.
   */
  readonly code: string;
  /** Seconds from the `Retry-After` header, when the answer had one. */
  readonly retryAfter: number | null;
  constructor(
    message: string,
    init?: { status?: number; code?: string; retryAfter?: number | null; cause?: unknown },
  );
}

export interface AuthTokenOptions {
  /** The token endpoint. Default `/api/realtime-token`. */
  url?: string;
  /** Rooms to ask for (sent as `{"rooms": [...]}`); default: all the policy grants. */
  rooms?: readonly string[];
  /** Seconds before expiry to fetch a new token (at most half its life). Default 60. */
  refreshMargin?: number;
  /** Default `include`, so the session cookie goes along cross-origin too. */
  credentials?: RequestCredentials;
  /** Called once per 401 (not logged in): e.g. `() => location.assign('/login')`. */
  onUnauthenticated?: (error: RealtimeTokenError) => void;
  /** Seconds a call may take, retries included, before it rejects. Default 30. */
  deadline?: number;
  /** Longest wait between retries after network errors, seconds. Default 10. */
  maxBackoff?: number;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  now?: () => number;
  /** Wall clock in ms (tests). Default `Date.now`. */
  wallNow?: () => number;
  /** Waits `ms` (tests). Default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform [0, 1) for jitter (tests). Default `Math.random`. */
  random?: () => number;
}

/** Resolves to a valid token; pass it as the SDK's `authToken`. */
export interface AuthToken {
  (): Promise<string>;
  /** Drops the cached token: call it on logout. */
  invalidate(): void;
}

export declare function createAuthToken(options?: AuthTokenOptions): AuthToken;
