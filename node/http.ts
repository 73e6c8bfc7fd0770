// The node's HTTP endpoints, bound to 127.0.0.1 by default: /metrics
// (Prometheus text), /healthz (the process is alive) and /readyz (the node
// can serve: database open, listening, and whatever else the daemon checks).
// Nothing here reveals a key, a share or an identifier.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  readonly name: string;
  /** True when this part of the node is ready. */
  ready(): boolean;
  /** Why it is not, in a line for the operator (counts and indices only); read only when failing. */
  reason?(): string | undefined;
}

export interface HttpServer {
  /** The bound address (useful when the port was 0). */
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

export async function startHttp(
  options: { readonly host: string; readonly port: number },
  deps: { readonly registry: Registry; readonly checks: readonly ReadinessCheck[] },
): Promise<HttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const failed = deps.checks.filter((c) => !c.ready());
      const failing = failed.map((c) => c.name);
      const reasons: Record<string, string> = {};
      for (const check of failed) {
        const reason = check.reason?.();
        if (reason !== undefined) reasons[check.name] = reason;
      }
      res
        .writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'application/json' })
        .end(
          `${JSON.stringify({ ready: failing.length === 0, failing, ...(failing.length === 0 ? {} : { reasons }) })}\n`,
        );
      return;
    }
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  // Slow or idle HTTP clients must not hold sockets forever.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    address: { host: bound.address, port: bound.port },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
