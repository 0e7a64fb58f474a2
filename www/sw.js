// runmesh service worker: keeps the app shell (index.html and the assets it names) so the
// app opens with no network. Navigations are answered from the cache at once and refreshed
// in the background; the API, the WebSocket, health and metrics always go to the network.
const CACHE = 'runmesh-shell-v1';
const NETWORK_ONLY = [/^\/api\//, /^\/app\//, /^\/ws$/, /^\/health\//, /^\/metrics$/];

/** Trunk names the built JS, wasm and CSS by content hash: a cached copy never goes stale. */
const HASHED = /-[0-9a-f]{12,}(?:_bg)?\.[a-z]+$/;

/**
 * A file index.html names: an attribute's value, quoted or not (Trunk's minified HTML drops
 * the quotes), or a quoted path in its loader script (the glue and the wasm).
 */
const ASSET = /(?:(?:href|src)=["']?|['"`])(\/[\w.-]+\.[a-z]+)/g;

/**
 * Fetches index.html and whatever it names that the cache lacks (the ~1.6 MB wasm is not
 * downloaded again while its name is unchanged), then forgets assets no longer named.
 */
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const response = await fetch('/', { cache: 'reload' });
  if (!response.ok) throw new Error(`fetching the app shell: ${response.status}`);
  const html = await response.clone().text();
  const assets = [...new Set([...html.matchAll(ASSET)].map((m) => m[1]))];
  const wanted = [];
  for (const asset of assets) {
    if (!HASHED.test(asset) || !(await cache.match(asset))) wanted.push(asset);
  }
  await cache.addAll(wanted);
  await cache.put('/', response);
  const keep = new Set(['/', ...assets]);
  for (const request of await cache.keys()) {
    if (!keep.has(new URL(request.url).pathname)) await cache.delete(request);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function refreshShell() {
  try {
    await cacheShell();
  } catch {
    // offline: keep what we have
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((re) => re.test(url.pathname))) return;
  if (request.mode === 'navigate') {
    event.respondWith(
      (async () => {
        const cached = await caches.match('/');
        if (cached) {
          event.waitUntil(refreshShell());
          return cached;
        }
        return fetch(request);
      })(),
    );
    return;
  }
  event.respondWith(
    (async () => {
      const cached = await caches.match(request);
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok) (await caches.open(CACHE)).put(request, response.clone());
      return response;
    })(),
  );
});
