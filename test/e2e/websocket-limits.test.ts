// The WebSocket transport under the same cheap attacks as TCP (issue 15:
// "the admission limits, the slow-loris defences and the per-IP limits apply
// to every transport"), over real sockets on loopback. Before libp2p takes a
// WebSocket over, node/network/ws-guard.ts bounds what a socket can hold:
// the time to finish the HTTP upgrade, the sockets one address block holds,
// the size of one message. After it, libp2p's own limits apply as for TCP.
// A wss listener serves the operator's certificate.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHost,
  registerHandler,
  requestOnce,
  type Host,
  type HostLimits,
  type NetLogger,
} from '../../node/network/index.ts';
import { readWsTls } from '../../node/network/ws-tls.ts';
import { MAX_WS_MESSAGE_BYTES } from '../../node/network/ws-guard.ts';
import { MAX_FRAME_BYTES } from '../../protocol/internal.ts';

const PROTOCOL = '/qkms/test-echo/1';
const WAIT_MS = 15_000;
const quiet: NetLogger = { debug() {}, info() {}, warn() {}, error() {} };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup.length = 0;
});

const sleep = async (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms);
  });

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await sleep(20);
  }
}

async function host(
  listen: string[],
  extra: { limits?: Partial<HostLimits>; wsTls?: { cert: string; key: string } } = {},
): Promise<Host> {
  const h = await createHost(
    { privateKey: await generateKeyPair('Ed25519'), listen, nodeSetPeers: [], allow: [], ...extra },
    { log: quiet },
  );
  cleanup.push(() => h.close());
  return h;
}

/** A node listening on a WebSocket only, serving an echo protocol. */
async function wsNode(limits?: Partial<HostLimits>): Promise<{ host: Host; addr: Multiaddr }> {
  const h = await host(['/ip4/127.0.0.1/tcp/0/ws'], limits === undefined ? {} : { limits });
  await registerHandler(
    h.libp2p,
    {
      protocol: PROTOCOL,
      maxFrameBytes: MAX_FRAME_BYTES.recover,
      readDeadlineMs: 2_000,
      maxInboundStreams: 8,
      handle: async (request) => Promise.resolve(request),
    },
    { log: quiet },
  );
  const addr = h.libp2p.getMultiaddrs().find((a) => a.toString().includes('/ws'));
  if (addr === undefined) throw new Error('node is not listening on a WebSocket');
  return { host: h, addr };
}

function portOf(addr: Multiaddr): number {
  return Number(addr.getComponents().find((c) => c.name === 'tcp')?.value);
}

interface Tracked {
  readonly socket: net.Socket;
  isClosed(): boolean;
}

/** A raw socket from `localAddress` that connects and then says nothing (or `send`). */
async function rawSocket(port: number, localAddress: string, send?: string): Promise<Tracked> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  let closed = false;
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  cleanup.push(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => {
      resolve();
    });
  });
  if (send !== undefined) socket.write(send);
  return { socket, isClosed: () => closed };
}

async function echo(addr: Multiaddr): Promise<string> {
  const client = await host([]);
  const answer = await requestOnce(
    client.libp2p,
    addr,
    PROTOCOL,
    new TextEncoder().encode('ping'),
    {
      maxReplyBytes: 64,
      signal: AbortSignal.timeout(5_000),
    },
  );
  return new TextDecoder().decode(answer);
}

describe('WebSocket listener limits (ws-guard)', () => {
  it('closes a socket that never finishes its HTTP upgrade, silent or slow', async () => {
    const { addr } = await wsNode({ inboundUpgradeTimeoutMs: 500 });
    const silent = await rawSocket(portOf(addr), '127.0.0.2');
    const slow = await rawSocket(portOf(addr), '127.0.0.3', 'GET / HTTP/1.1\r\nHost: x\r\n');
    await until(() => silent.isClosed() && slow.isClosed(), 'idle sockets closed');
    // An honest dial after them is served.
    expect(await echo(addr)).toBe('ping');
  });

  it('holds at most maxConnectionsPerIp sockets per address block; other blocks are served', async () => {
    const { addr } = await wsNode({ maxConnectionsPerIp: 4, inboundUpgradeTimeoutMs: 10_000 });
    const held: Tracked[] = [];
    for (let i = 0; i < 4; i++) held.push(await rawSocket(portOf(addr), '127.0.0.9'));
    const fifth = await rawSocket(portOf(addr), '127.0.0.9');
    await until(() => fifth.isClosed(), 'the fifth socket from one address closed');
    await sleep(200);
    expect(held.map((s) => s.isClosed())).toEqual([false, false, false, false]);
    // The block's slots do not lock out anyone else (the echo client dials from 127.0.0.1).
    expect(await echo(addr)).toBe('ping');
    // A closed socket gives its slot back.
    held[0]?.socket.destroy();
    await until(() => held[0]?.isClosed() === true, 'released');
    await sleep(100);
    const again = await rawSocket(portOf(addr), '127.0.0.9');
    await sleep(300);
    expect(again.isClosed()).toBe(false);
  });

  it('serves an honest client while 200 idle sockets from 200 addresses hold on', async () => {
    const { addr } = await wsNode();
    const idle: Tracked[] = [];
    for (let i = 0; i < 200; i++) {
      idle.push(await rawSocket(portOf(addr), `127.0.1.${(i % 250) + 2}`));
    }
    expect(await echo(addr)).toBe('ping');
    expect(idle.filter((s) => !s.isClosed()).length).toBeGreaterThan(0);
    await until(() => idle.every((s) => s.isClosed()), 'every idle socket closed by the deadline');
  });

  it('closes a WebSocket that sends a message over MAX_WS_MESSAGE_BYTES', async () => {
    const { addr } = await wsNode();
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(addr)}/`);
    ws.binaryType = 'arraybuffer';
    const closed = new Promise<number>((resolve) => {
      ws.addEventListener('close', (e) => {
        resolve(e.code);
      });
    });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => {
        resolve();
      });
      ws.addEventListener('error', () => {
        reject(new Error('WebSocket did not open'));
      });
    });
    ws.send(new Uint8Array(MAX_WS_MESSAGE_BYTES + 1));
    // 1009: message too big (RFC 6455 §7.4.1).
    expect(await closed).toBe(1009);
  });
});

/** A raw socket that completes the HTTP upgrade to a WebSocket and is then free to send any bytes. */
async function upgradedSocket(port: number): Promise<Tracked> {
  const tracked = await rawSocket(port, '127.0.0.4');
  tracked.socket.write(
    [
      'GET / HTTP/1.1',
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  const head = await new Promise<string>((resolve) => {
    tracked.socket.once('data', (chunk: Buffer) => {
      resolve(chunk.toString('latin1'));
    });
  });
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  return tracked;
}

describe('WebSocket protocol errors', () => {
  it('an unmasked frame closes that WebSocket; the node keeps serving', async () => {
    const { addr } = await wsNode();
    const tracked = await upgradedSocket(portOf(addr));
    // A binary frame without the MASK bit: RFC 6455 §5.1 says a server MUST close.
    tracked.socket.write(Uint8Array.of(0x82, 0x02, 0x01, 0x02));
    await until(() => tracked.isClosed(), 'the WebSocket closed');
    expect(await echo(addr)).toBe('ping');
  });
});

describe('secure WebSocket (wss) with the operator certificate', () => {
  it('serves TLS with the configured certificate and upgrades to a WebSocket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-wss-'));
    cleanup.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    execFileSync('chmod', ['600', keyFile]);
    const wsTls = readWsTls({ certFile, keyFile });
    const h = await host(['/ip4/127.0.0.1/tcp/0/tls/ws'], { wsTls });
    const addr = h.libp2p.getMultiaddrs().find((a) => a.toString().includes('/tls/ws'));
    expect(addr).toBeDefined();
    const port = portOf(addr ?? multiaddr('/ip4/127.0.0.1/tcp/0'));

    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: wsTls.cert,
      servername: 'localhost',
    });
    cleanup.push(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.authorized).toBe(true);
    socket.write(
      [
        'GET / HTTP/1.1',
        'Host: 127.0.0.1',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    const head = await new Promise<string>((resolve) => {
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk.toString('latin1'));
      });
    });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  });

  it('refuses a key file others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-wss-'));
    cleanup.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    execFileSync('chmod', ['644', keyFile]);
    expect(() => readWsTls({ certFile, keyFile })).toThrow(/chmod 600/);
  });
});
