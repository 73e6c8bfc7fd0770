// Serves the built web player on 127.0.0.1 (README.md):
//   npx node examples/web-player/serve.ts [--out build/web-player] [--port 8080]
// A page on http://127.0.0.1 is a secure context (WebCrypto works) and may
// dial the dev quorum's ws:// addresses; a page on any other http origin is
// neither. Only the page's own files are served, by name: nothing else in
// the folder (or beside it) is reachable.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const SERVE_HOST = '127.0.0.1';
const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'player.js': 'text/javascript; charset=utf-8',
  'qkms-client.js': 'text/javascript; charset=utf-8',
  'clip.enc': 'application/octet-stream',
  'manifest.json': 'application/json',
  'nodeset.json': 'application/json',
};

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dir`'s page files on SERVE_HOST:`port` (0: any free port). */
export async function serveWebPlayer(dir: string, port: number): Promise<Served> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0]?.slice(1) || 'index.html';
    const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (type === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } else {
      readFile(join(root, name)).then(
        (body) => {
          res.writeHead(200, {
            'content-type': type,
            'content-length': body.length,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
            'referrer-policy': 'no-referrer',
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not built yet\n'),
      );
    }
  });
  await new Promise<void>((done, failed) => {
    server.once('error', failed);
    server.listen(port, SERVE_HOST, done);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${SERVE_HOST}:${bound}/`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => {
          done();
        });
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join('build', 'web-player') },
      port: { type: 'string', default: '8080' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`web-player serve: --port: expected 0..65535, got ${values.port}\n`);
    process.exit(2);
  }
  const served = await serveWebPlayer(values.out, port);
  process.stdout.write(`serving ${resolve(values.out)} at ${served.url} (Ctrl-C stops)\n`);
  process.once('SIGINT', () => {
    void served.close().then(() => process.exit(0));
  });
}
