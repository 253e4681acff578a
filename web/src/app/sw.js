// A service worker that makes a static host without custom headers (GitHub
// Pages and the like) cross-origin isolated, which the engine needs for
// SharedArrayBuffer. It re-serves this site's own responses with the COOP,
// COEP and CORP headers added. It touches nothing else:
//
// - requests to other origins go to the network as usual (they must be CORS
//   or carry Cross-Origin-Resource-Policy themselves);
// - Range requests (disk images read piece by piece) are not intercepted, so
//   the browser handles them exactly as without a service worker;
// - bodies are streamed through, never read here.
//
// app.js registers it only when the page is not isolated already.

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

function withIsolationHeaders(response) {
  // Opaque and error responses cannot be rebuilt (status 0); a redirect
  // handled by fetch() is already followed.
  if (response.status === 0 || response.type === 'opaque' || response.type === 'opaqueredirect') return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' && request.method !== 'HEAD') return;
  if (request.headers.has('range')) return;
  // A devtools quirk: this combination throws when re-fetched.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  event.respondWith(fetch(request).then(withIsolationHeaders));
});
