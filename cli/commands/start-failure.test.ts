// The start failures `qkms node start` explains, from errors shaped as libp2p,
// level and node:net throw them (test/e2e/node-start-failures.test.ts meets
// the real ones), and the exit-code table.
import { describe, expect, it } from 'vitest';
import { EXIT } from '../exit.ts';
import { describeStartFailure } from './start-failure.ts';

const context = {
  dir: '/var/lib/qkms',
  listen: ['/ip4/0.0.0.0/tcp/7101'],
  http: { host: '127.0.0.1', port: 9101 },
};

function errno(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`listen ${code}: whatever 127.0.0.1:9101`), {
    code,
    syscall: 'listen',
    ...extra,
  });
}

function libp2pError(lines: string): Error {
  const e = new Error(
    'Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set `transportManager.faultTolerance` to NO_FATAL:\n' +
      lines,
  );
  e.name = 'UnsupportedListenAddressesError';
  return e;
}

describe('describeStartFailure', () => {
  it('a LevelDB lock anywhere in the cause chain: the data directory is in use, exit 8', () => {
    const locked = Object.assign(new Error('IO error: lock /var/lib/qkms/db/LOCK'), {
      code: 'LEVEL_LOCKED',
    });
    const notOpen = Object.assign(new Error('Database failed to open', { cause: locked }), {
      code: 'LEVEL_DATABASE_NOT_OPEN',
    });
    const wrapped = new Error('store', { cause: notOpen });
    for (const e of [notOpen, wrapped]) {
      expect(describeStartFailure(e, context)).toEqual({
        message: expect.stringMatching(
          /^data directory \/var\/lib\/qkms is in use by another process/,
        ),
        exit: EXIT.inUse,
      });
    }
  });

  it("libp2p's listen error: names the failed address and the errno, without libp2p's advice", () => {
    const inUse = describeStartFailure(
      libp2pError(
        '\n  /ip4/0.0.0.0/tcp/7101: Error: listen EADDRINUSE: address already in use 0.0.0.0:7101\n      at Server.setupListenHandle (node:net:1:1)\n',
      ),
      context,
    );
    expect(inUse).toEqual({
      message:
        'libp2p listen address /ip4/0.0.0.0/tcp/7101 is in use by another process (another qkms node?); stop that process or choose another --listen',
      exit: EXIT.inUse,
    });
    const notHere = describeStartFailure(
      libp2pError(
        '\n  /ip4/10.9.9.9/tcp/7101: Error: listen EADDRNOTAVAIL: address not available\n',
      ),
      context,
    );
    expect(notHere?.exit).toBe(EXIT.config);
    expect(notHere?.message).toMatch(
      /^libp2p listen address \/ip4\/10\.9\.9\.9\/tcp\/7101 is not an address of this host/,
    );
    const unknown = describeStartFailure(
      libp2pError('\n  /ip4/1.2.3.4/tcp/1: Error: strange\n'),
      context,
    );
    expect(unknown).toEqual({
      message: 'cannot listen on libp2p address /ip4/1.2.3.4/tcp/1; check --listen',
      exit: EXIT.failure,
    });
    for (const f of [inUse, notHere, unknown]) expect(f?.message).not.toMatch(/faultTolerance|\n/);
  });

  it('a listen errno outside libp2p is the HTTP server: names --http', () => {
    expect(describeStartFailure(errno('EADDRINUSE'), context)).toEqual({
      message:
        'HTTP address 127.0.0.1:9101 (metrics and health) is in use by another process (another qkms node?); stop that process or choose another --http',
      exit: EXIT.inUse,
    });
    expect(describeStartFailure(errno('EACCES'), context)?.exit).toBe(EXIT.config);
  });

  it("@libp2p/webrtc's bind failure anywhere in the chain: names the WebRTC-direct address, exit 8", () => {
    const e = new Error('start failed', {
      cause: new Error('Failed to register ICE UDP mux listener'),
    });
    const rtc = { ...context, listen: [...context.listen, '/ip4/0.0.0.0/udp/8101/webrtc-direct'] };
    expect(describeStartFailure(e, rtc)).toEqual({
      message:
        "WebRTC-direct listen address /ip4/0.0.0.0/udp/8101/webrtc-direct cannot be bound: its UDP port is in use by another process (another qkms node?), or the address is not this host's; stop that process or choose another --listen",
      exit: EXIT.inUse,
    });
  });

  it('leaves every other failure to the generic path', () => {
    for (const e of [
      new Error('boom'),
      errno('EADDRINUSE', { syscall: 'connect' }),
      errno('EMFILE'),
      Object.assign(new Error('x'), { code: 'LEVEL_CORRUPTION' }),
      undefined,
      'text',
    ]) {
      expect(describeStartFailure(e, context)).toBeUndefined();
    }
  });
});

describe('exit codes', () => {
  it('one table for every command, and no number means two things', () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT.inUse).toBe(8);
  });
});
