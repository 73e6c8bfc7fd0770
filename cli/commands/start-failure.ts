// Start failures an operator can act on (`qkms node start`): an address
// another process listens on, or a data directory another process holds. The
// daemon throws what its libraries throw — libp2p's UnsupportedListenAddressesError
// (whose text advises `transportManager.faultTolerance` and embeds a stack),
// level's "Database failed to open" with a LEVEL_LOCKED cause, the HTTP
// server's raw EADDRINUSE — and this turns each into one sentence that names
// the address or the folder and what to do, and an exit code the systemd unit
// does not restart on (a restart cannot free a port or a lock someone else holds).
import { EXIT, type ExitCode } from '../exit.ts';

export interface StartFailure {
  /** One sentence, no stack trace. */
  readonly message: string;
  readonly exit: ExitCode;
}

export interface StartContext {
  /** The node's data directory (--dir). */
  readonly dir: string;
  /** The libp2p listen multiaddrs (--listen). */
  readonly listen: readonly string[];
  /** The metrics and health HTTP address (--http). */
  readonly http: { readonly host: string; readonly port: number };
}

/** How deep a cause chain is followed: wrappers add one or two levels. */
const MAX_CAUSE_DEPTH = 8;

/**
 * What @libp2p/webrtc throws when node-datachannel cannot bind a
 * WebRTC-direct UDP port: no errno survives, and the port is in use far more
 * often than the address is wrong.
 */
const WEBRTC_BIND_ERROR = 'Failed to register ICE UDP mux listener';

/** libp2p's error when a listen address fails (libp2p/src/transport-manager.ts). */
const LIBP2P_LISTEN_ERROR = 'UnsupportedListenAddressesError';

/** Errno codes of listen(2) that name the operator's mistake, and how to say it. */
const LISTEN_ERRNO = {
  EADDRINUSE: { says: 'is in use by another process (another qkms node?)', exit: EXIT.inUse },
  EACCES: { says: 'needs privileges this process lacks (a port below 1024?)', exit: EXIT.config },
  EADDRNOTAVAIL: { says: 'is not an address of this host', exit: EXIT.config },
} as const;
type ListenErrno = keyof typeof LISTEN_ERRNO;

function isListenErrno(code: unknown): code is ListenErrno {
  return typeof code === 'string' && Object.hasOwn(LISTEN_ERRNO, code);
}

/** The error and its causes, outermost first. */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  let current = e;
  while (current !== undefined && current !== null && out.length < MAX_CAUSE_DEPTH) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

function field(e: unknown, name: string): unknown {
  return typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[name] : undefined;
}

/**
 * libp2p lists each failed address on its own line, "  /ip4/…/tcp/7101: Error:
 * listen EADDRINUSE: …": the only place it keeps the address and the errno.
 * Its wording is pinned by test/e2e/node-start-failures.test.ts.
 */
function libp2pListenFailures(message: string): { addr: string; code: string | undefined }[] {
  const out: { addr: string; code: string | undefined }[] = [];
  for (const match of message.matchAll(/^\s*(\/\S+): (.*)$/gm)) {
    const addr = match[1];
    if (addr === undefined) continue;
    out.push({ addr, code: /\b(E[A-Z]{3,})\b/.exec(match[2] ?? '')?.[1] });
  }
  return out;
}

function libp2pFailure(message: string, context: StartContext): StartFailure {
  const failures = libp2pListenFailures(message);
  const known = failures.find((f) => isListenErrno(f.code));
  if (known !== undefined && isListenErrno(known.code)) {
    const { says, exit } = LISTEN_ERRNO[known.code];
    return {
      message: `libp2p listen address ${known.addr} ${says}; stop that process or choose another --listen`,
      exit,
    };
  }
  const addrs = failures.length > 0 ? failures.map((f) => f.addr) : context.listen;
  const codes = failures.flatMap((f) => (f.code === undefined ? [] : [f.code]));
  return {
    message: `cannot listen on libp2p address ${addrs.join(', ')}${codes.length > 0 ? ` (${codes.join(', ')})` : ''}; check --listen`,
    exit: EXIT.failure,
  };
}

/** What to tell the operator about a failed start, or undefined for a failure this does not know. */
export function describeStartFailure(e: unknown, context: StartContext): StartFailure | undefined {
  const chain = causes(e);
  if (chain.some((c) => field(c, 'code') === 'LEVEL_LOCKED')) {
    return {
      message: `data directory ${context.dir} is in use by another process (is another qkms node running on it?); stop it first, or give this node its own --dir`,
      exit: EXIT.inUse,
    };
  }
  const libp2p = chain.find((c) => field(c, 'name') === LIBP2P_LISTEN_ERROR);
  if (libp2p !== undefined) {
    const message = field(libp2p, 'message');
    return libp2pFailure(typeof message === 'string' ? message : '', context);
  }
  if (chain.some((c) => String(field(c, 'message')).includes(WEBRTC_BIND_ERROR))) {
    const addrs = context.listen.filter((a) => a.includes('/webrtc-direct'));
    return {
      message: `WebRTC-direct listen address ${addrs.join(', ')} cannot be bound: its UDP port is in use by another process (another qkms node?), or the address is not this host's; stop that process or choose another --listen`,
      exit: EXIT.inUse,
    };
  }
  // Outside libp2p the node listens only for HTTP (metrics and health).
  const listen = chain.find((c) => field(c, 'syscall') === 'listen');
  const code = field(listen, 'code');
  if (listen !== undefined && isListenErrno(code)) {
    const { says, exit } = LISTEN_ERRNO[code];
    return {
      message: `HTTP address ${context.http.host}:${context.http.port} (metrics and health) ${says}; stop that process or choose another --http`,
      exit,
    };
  }
  return undefined;
}
