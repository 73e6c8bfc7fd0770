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
import { createHost, type Host, type HostLimits } from '../../node/network/index.ts';
import { readWsTls } from '../../node/network/ws-tls.ts';
import { MAX_WS_MESSAGE_BYTES } from '../../node/network/ws-guard.ts';
import { echoPing, quietNetLog, serveEcho, sleep, until } from '../support/echo-node.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup.length = 0;
});

async function host(
  listen: string[],
  extra: { limits?: Partial<HostLimits>; wsTls?: { cert: string; key: string } } = {},
): Promise<Host> {
  const h = await createHost(
    { privateKey: await generateKeyPair('Ed25519'), listen, nodeSetPeers: [], allow: [], ...extra },
    { log: quietNetLog },
  );
  cleanup.push(() => h.close());
  return h;
}

/** A node listening on a WebSocket only, serving an echo protocol. */
async function wsNode(
  limits?: Partial<HostLimits>,
  listen = '/ip4/127.0.0.1/tcp/0/ws',
): Promise<{ host: Host; addr: Multiaddr }> {
  const h = await host([listen], limits === undefined ? {} : { limits });
  await serveEcho(h.libp2p);
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
async function rawSocket(
  port: number,
  localAddress: string,
  send?: string,
  to: { host?: string; localPort?: number } = {},
): Promise<Tracked> {
  const socket = net.connect({
    host: to.host ?? '127.0.0.1',
    port,
    localAddress,
    ...(to.localPort === undefined ? {} : { localPort: to.localPort }),
  });
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
  return echoPing((await host([])).libp2p, addr);
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

  it('a silent socket sharing its source port with one that upgrades still meets the deadline', async () => {
    // One client port, two local addresses of a node on 0.0.0.0: the remote
    // address and port are the same for both connections, only the local
    // address differs.
    const { addr } = await wsNode({ inboundUpgradeTimeoutMs: 500 }, '/ip4/0.0.0.0/tcp/0/ws');
    const localPort = 40_000 + Math.floor(Math.random() * 20_000);
    const upgrading = await rawSocket(portOf(addr), '127.0.0.7', undefined, {
      host: '127.0.0.1',
      localPort,
    });
    const silent = await rawSocket(portOf(addr), '127.0.0.7', undefined, {
      host: '127.0.0.2',
      localPort,
    });
    expect(await upgrade(upgrading.socket)).toBe('HTTP/1.1 101 Switching Protocols');
    await until(() => silent.isClosed(), 'the silent socket closed by the deadline');
    expect(upgrading.isClosed()).toBe(false);
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

/** A WebSocket opening handshake (RFC 6455 §1.3): the request line and headers. */
const UPGRADE_REQUEST = [
  'GET / HTTP/1.1',
  'Host: 127.0.0.1',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  '',
  '',
].join('\r\n');

/** Sends the opening handshake on `socket` and returns the status line of the answer. */
async function upgrade(socket: net.Socket): Promise<string> {
  socket.write(UPGRADE_REQUEST);
  const head = await new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      resolve(chunk.toString('latin1'));
    });
  });
  return head.split('\r\n')[0] ?? '';
}

/** A raw socket that completes the HTTP upgrade to a WebSocket and is then free to send any bytes. */
async function upgradedSocket(port: number): Promise<Tracked> {
  const tracked = await rawSocket(port, '127.0.0.4');
  expect(await upgrade(tracked.socket)).toBe('HTTP/1.1 101 Switching Protocols');
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

/** A self-signed P-256 certificate for 127.0.0.1 and its key, written by openssl into a fresh folder. */
function selfSignedCert(keyMode: string): { certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkms-wss-'));
  cleanup.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat(
      ['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'],
      ['-keyout', keyFile, '-out', certFile],
    ),
    { stdio: 'ignore' },
  );
  execFileSync('chmod', [keyMode, keyFile]);
  return { certFile, keyFile };
}

describe('secure WebSocket (wss) with the operator certificate', () => {
  it('serves TLS with the configured certificate and upgrades to a WebSocket', async () => {
    const { certFile, keyFile } = selfSignedCert('600');
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
    expect(await upgrade(socket)).toBe('HTTP/1.1 101 Switching Protocols');
  });

  it('refuses a certificate path that is not a regular file, without reading it', () => {
    const { keyFile } = selfSignedCert('600');
    expect(() => readWsTls({ certFile: '/dev/zero', keyFile })).toThrow(/not a regular file/);
  });

  it('refuses a key file others can read', () => {
    const { certFile, keyFile } = selfSignedCert('644');
    expect(() => readWsTls({ certFile, keyFile })).toThrow(/chmod 600/);
  });
});
