// One socket write per turn, not one per buffer (issue 18). Below libp2p,
// one frame on a TCP connection is a yamux header and its body, each sealed
// by Noise as a 2-byte length and a ciphertext, and @libp2p/tcp hands every
// one of those buffers to `socket.write` on its own: with Nagle off (its
// default), each is a system call and a packet, and on loopback the sending
// process pays for the receiver's TCP work too. A client's recover then cost
// a third of its CPU in `writeBuffer`.
//
// Here a TCP connection's socket is corked on the first write of a turn and
// uncorked once the microtasks queued so far have run, so everything
// libp2p sends in that turn leaves in one `writev`: the bytes, their order
// and the socket's back-pressure are unchanged, only the system calls
// merge. The hook is the upgrader every transport hands its raw connection
// to (public libp2p API); a connection without a corkable socket (WebSocket,
// WebRTC) is left as it is.
//
// The other half is yamux's window updates on the long-lived request
// channel (§1b). @chainsafe/libp2p-yamux answers EVERY data frame it
// receives with a window update, so each request and each answer cost a
// second packet the other way, its Noise seal and open, and a wake-up of
// the other process. The yamux spec leaves it to the receiver when to
// update; like rust-yamux, a channel stream here updates once half of its
// window is used (`lazyWindowUpdates`). Flow control is unchanged: the
// sender still never has more in flight than the window.
//
// Written against shapes, not libp2p's types, so that the client and the
// node share it (neither may import the other). The yamux fields read are
// not public API; @chainsafe/libp2p-yamux is pinned to an exact version and
// protocol/codec/coalesce-writes.test.ts fails if they move.

/** A raw connection as @libp2p/tcp builds it: `sendData` writes to `socket`. */
interface RawConnection {
  sendData: (data: never) => unknown;
  readonly socket?: unknown;
}

interface CorkableSocket {
  cork(): void;
  uncork(): void;
}

function corkable(socket: unknown): socket is CorkableSocket {
  return (
    typeof socket === 'object' &&
    socket !== null &&
    typeof (socket as Partial<CorkableSocket>).cork === 'function' &&
    typeof (socket as Partial<CorkableSocket>).uncork === 'function'
  );
}

/** Makes `connection` write once per turn; false (and nothing changed) when it has no corkable socket. */
export function coalesceWrites(connection: object): boolean {
  const conn = connection as Partial<RawConnection>;
  const socket = conn.socket;
  const send = conn.sendData;
  if (!corkable(socket) || typeof send !== 'function') return false;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  conn.sendData = (data: never): unknown => {
    if (!corked) {
      corked = true;
      socket.cork();
      queueMicrotask(uncork);
    }
    return send.call(connection, data);
  };
  return true;
}

/** The two calls through which a transport hands its raw connections to libp2p. */
interface UpgraderShape {
  upgradeInbound(connection: never, ...rest: never[]): unknown;
  upgradeOutbound(connection: never, ...rest: never[]): unknown;
}

/** A transport as libp2p calls it: every connection goes through `options.upgrader`. */
interface TransportShape {
  dial(address: never, options: { upgrader: UpgraderShape }): unknown;
  createListener(options: { upgrader: UpgraderShape }): unknown;
}

function coalescingUpgrader<U extends UpgraderShape>(upgrader: U): U {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === 'upgradeInbound' || property === 'upgradeOutbound') {
        return (connection: object, ...rest: never[]) => {
          coalesceWrites(connection);
          return target[property](connection as never, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** `transport`, with every connection it dials or accepts writing once per turn. */
export function withCoalescedWrites<T extends TransportShape>(transport: T): T {
  const dial = transport.dial.bind(transport);
  const createListener = transport.createListener.bind(transport);
  transport.dial = (address, options) =>
    dial(address, { ...options, upgrader: coalescingUpgrader(options.upgrader) });
  transport.createListener = (options) =>
    createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) });
  return transport;
}

/** The parts of @chainsafe/libp2p-yamux's YamuxStream (8.x) the lazy update reads. */
interface YamuxStreamInternals {
  sendWindowUpdate: () => void;
  readonly recvWindow: number;
  readonly recvWindowCapacity: number;
}

function yamuxInternals(stream: object): stream is YamuxStreamInternals {
  const s = stream as Partial<YamuxStreamInternals>;
  return (
    typeof s.sendWindowUpdate === 'function' &&
    typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number'
  );
}

/**
 * Makes a yamux stream send its window update only once half of its receive window is
 * used, not after every frame. False (and nothing changed) for a stream that is not one.
 */
export function lazyWindowUpdates(stream: object): boolean {
  if (!yamuxInternals(stream)) return false;
  const update = stream.sendWindowUpdate;
  stream.sendWindowUpdate = (): void => {
    if (stream.recvWindowCapacity * 2 > stream.recvWindow) return;
    update.call(stream);
  };
  return true;
}
