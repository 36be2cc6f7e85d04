// A tiny static HTTP server (node:http) for the browser suites: it serves the
// test page, its script and the self-contained livekit-client UMD bundle
// (which defines `window.LivekitClient`) on 127.0.0.1 and a free port. That
// origin differs from the ringcast server's (another port), so the page talks
// to ringcast cross-origin, as a real web app does, and CORS matters.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Directory of the installed livekit-client bundles (node_modules/livekit-client/dist). */
export function livekitClientDist() {
  // The package's "main" points into dist/; resolving it finds the copy that
  // `import 'livekit-client'` would use.
  return dirname(require.resolve('livekit-client'));
}

/** The files the page may load: URL path -> [file on disk, content type]. */
function routes() {
  const dist = livekitClientDist();
  return new Map([
    ['/', [join(HERE, 'page.html'), 'text/html; charset=utf-8']],
    ['/page.js', [join(HERE, 'page.js'), 'text/javascript; charset=utf-8']],
    ['/media.js', [join(HERE, 'media.js'), 'text/javascript; charset=utf-8']],
    ['/livekit-client.umd.js', [join(dist, 'livekit-client.umd.js'), 'text/javascript; charset=utf-8']],
  ]);
}

/**
 * Starts the page server. Resolves to { url, close() }; `url` has no trailing slash.
 */
export async function startStaticServer() {
  const files = routes();
  const server = createServer(async (req, res) => {
    const path = new URL(req.url || '/', 'http://x').pathname;
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // keeps a 404 line out of the page console
      return;
    }
    const entry = files.get(path);
    if (req.method !== 'GET' || !entry) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await readFile(entry[0]);
      res.writeHead(200, { 'content-type': entry[1], 'cache-control': 'no-store' }).end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
