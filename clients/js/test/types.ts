// Checked by `tsc` (npm run typecheck): the declarations describe the API a
// TypeScript app uses, and misuse does not compile.
import { createAuthToken, RealtimeTokenError, type AuthToken } from '@realtime-token/client';

const authToken: AuthToken = createAuthToken({
  url: '/api/realtime-token',
  rooms: ['document-42'],
  refreshMargin: 30,
  onUnauthenticated: (error: RealtimeTokenError) => {
    const status: number = error.status;
    const code: string = error.code;
    const retryAfter: number | null = error.retryAfter;
    void [status, code, retryAfter];
  },
});
const token: Promise<string> = authToken();
authToken.invalidate();
void token;

// @ts-expect-error rooms is a list of names
createAuthToken({ rooms: 'document-42' });
// @ts-expect-error unknown option
createAuthToken({ refresh: 60 });
