// The WebSocket transport's defences before libp2p takes a connection over
// (issue 15): libp2p's own limits (pending upgrades, new connections per IP
// per second, the 3 s upgrade deadline, the per-block gate) start only once
// the HTTP upgrade has finished and the listener hands libp2p a connection.
// Before that, @libp2p/websockets waits for a socket's first byte with no
// deadline, Node's HTTP server allows 60 s for headers, and `ws` accepts
// 100 MiB messages, so idle or slow sockets could hold file descriptors
// without end. Here, per listener:
//   - a socket that has not finished its HTTP upgrade within the deadline is
//     destroyed (the slow-loris bound, as inboundUpgradeTimeout is for TCP);
//   - one address block holds at most `maxSocketsPerBlock` sockets at once,
//     upgraded or not (node-set peers' addresses are exempt);
//   - one WebSocket message is at most MAX_WS_MESSAGE_BYTES;
//   - a WebSocket's protocol error (an oversized message, an unmasked or
//     malformed frame) closes that WebSocket only. @libp2p/websockets adds no
//     'error' listener to the server-side `ws` socket, so without this one
//     malformed frame from anyone is an uncaught exception that ends the node.
// The listener's `server`, `http`, `https` and `wsServer` fields are not
// public API: @libp2p/websockets is pinned to an exact version, and
// test/e2e/websocket-limits.test.ts fails if they move.
import type { Server as NetServer, Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import type { Listener } from '@libp2p/interface';
import { ipBlock } from './address-block.ts';

/** A yamux frame inside a Noise frame is at most 64 KiB; a browser may batch a few. */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;
/** HTTP options of the WebSocket listener: small headers, and Node's own timeouts checked every second. */
export const WS_HTTP_OPTIONS = {
  maxHeaderSize: 8 * 1024,
  headersTimeout: 3_000,
  requestTimeout: 3_000,
  connectionsCheckingInterval: 1_000,
} as const;

export interface WsGuardOptions {
  /** Milliseconds from accept to a finished HTTP upgrade. */
  readonly upgradeTimeoutMs: number;
  /** Sockets one address block may hold on this listener at once. */
  readonly maxSocketsPerBlock: number;
  /** True for an address that belongs to a node-set peer (never limited). */
  readonly isAllowed: (address: string) => boolean;
  /** Called when a socket is refused or timed out (for a debug log line). */
  readonly onDrop?: (reason: 'block' | 'upgrade-timeout' | 'protocol-error', block: string) => void;
}

/** The parts of @libp2p/websockets' listener the guard attaches to. */
interface WsListenerInternals {
  readonly server?: NetServer;
  readonly http?: EventEmitter;
  readonly https?: EventEmitter;
  readonly wsServer?: { options?: { maxPayload?: number; WebSocket?: WsClass } };
}

/** `ws`'s WebSocket class, as its server's `WebSocket` option holds it. */
type WsClass = new (...args: never[]) => EventEmitter;

/** The server's WebSocket class, with an 'error' listener on every instance (ws closes the socket itself). */
function withErrorListener(Base: WsClass, onError: () => void): WsClass {
  return class GuardedWebSocket extends Base {
    constructor(...args: never[]) {
      super(...args);
      this.on('error', onError);
    }
  };
}

function blockOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.includes(':') ? ipBlock(address, 6) : ipBlock(address, 4);
}

/**
 * Attaches the guard to a WebSocket listener as the transport creates it (host.ts), before it listens. Returns
 * false (and changes nothing) for a listener that is not @libp2p/websockets'.
 */
export function guardWebSocketListener(listener: Listener, options: WsGuardOptions): boolean {
  const internals = listener as unknown as WsListenerInternals;
  const server = internals.server;
  const wsOptions = internals.wsServer?.options;
  if (server === undefined || wsOptions?.WebSocket === undefined) return false;
  wsOptions.maxPayload = MAX_WS_MESSAGE_BYTES;
  wsOptions.WebSocket = withErrorListener(wsOptions.WebSocket, () => {
    options.onDrop?.('protocol-error', 'websocket');
  });
  const open = new Map<string, number>();
  // Keyed by the connection's 4-tuple, unique among live TCP connections: a
  // wss upgrade hands over the TLS socket wrapping the one accepted, with the
  // same four. (The remote pair alone is not unique: one client port can
  // connect to two local addresses of a node listening on 0.0.0.0 or ::.)
  const pending = new Map<string, NodeJS.Timeout>();
  const keyOf = (socket: Socket): string =>
    [socket.remoteAddress, socket.remotePort, socket.localAddress, socket.localPort].join('|');

  const upgraded = (_req: unknown, socket: Socket): void => {
    const key = keyOf(socket);
    clearTimeout(pending.get(key));
    pending.delete(key);
  };
  // The http/https servers are created in listen(); attach to whichever exist.
  const attach = (): void => {
    for (const http of [internals.http, internals.https]) {
      if (http !== undefined && !http.listeners('upgrade').includes(upgraded))
        http.prependListener('upgrade', upgraded);
    }
  };
  attach();

  server.prependListener('connection', (socket: Socket) => {
    attach();
    const address = socket.remoteAddress ?? '';
    if (options.isAllowed(address)) return;
    const block = blockOf(socket);
    const n = open.get(block) ?? 0;
    if (n >= options.maxSocketsPerBlock) {
      options.onDrop?.('block', block);
      // An error (not a bare destroy) ends the listener's wait for a first byte.
      socket.destroy(new Error('too many sockets from this address block'));
      return;
    }
    open.set(block, n + 1);
    const key = keyOf(socket);
    pending.set(
      key,
      setTimeout(() => {
        pending.delete(key);
        options.onDrop?.('upgrade-timeout', block);
        socket.destroy(new Error('WebSocket upgrade not finished in time'));
      }, options.upgradeTimeoutMs),
    );
    socket.once('close', () => {
      clearTimeout(pending.get(key));
      pending.delete(key);
      const left = (open.get(block) ?? 1) - 1;
      if (left > 0) open.set(block, left);
      else open.delete(block);
    });
  });
  return true;
}
