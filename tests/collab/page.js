// The collaborative page, bundled by driver.mjs with esbuild: a Yjs document
// synced through Hocuspocus, whose token comes from @realtime-token/client
// (the packed tarball) exactly as an app would wire it.
import { createAuthToken } from '@realtime-token/client';
import { HocuspocusProvider } from '@hocuspocus/provider';
import * as Y from 'yjs';

const config = JSON.parse(document.querySelector('meta[name="e2e"]').content);
const room = new URLSearchParams(location.search).get('doc');

const state = {
  tokenRequests: 0,
  unauthenticated: 0,
  authenticated: 0,
  failures: [],
  synced: false,
};

const authToken = createAuthToken({
  url: config.tokenUrl,
  refreshMargin: 2,
  onUnauthenticated: () => {
    state.unauthenticated += 1;
  },
  // Counts the requests the page really makes; the client's own fetch
  // otherwise.
  fetch: (url, init) => {
    state.tokenRequests += 1;
    return fetch(url, init);
  },
});

const ydoc = new Y.Doc();
const text = ydoc.getText('body');
const provider = new HocuspocusProvider({
  url: config.wsUrl,
  name: room,
  document: ydoc,
  token: authToken,
  onAuthenticated: () => {
    state.authenticated += 1;
  },
  onAuthenticationFailed: ({ reason }) => {
    state.failures.push(reason);
  },
  onSynced: () => {
    state.synced = true;
  },
});

window.e2e = {
  state,
  text: () => text.toString(),
  insert: (s) => text.insert(text.length, s),
  // Logs out of the app, then asks for a token the way a page would after
  // a logout: the cached one dropped.
  async logout() {
    const res = await fetch('/logout', { method: 'POST', credentials: 'include' });
    provider.destroy();
    authToken.invalidate();
    try {
      await authToken();
      return { logoutStatus: res.status, error: null };
    } catch (e) {
      return { logoutStatus: res.status, error: { name: e.name, status: e.status, code: e.code } };
    }
  },
};
