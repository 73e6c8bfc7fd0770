// WebRTC-direct on a node (issue 15): the transport a page served over
// https can dial by IP address with no CA certificate, because the
// multiaddr pins the node's DTLS certificate by hash. Over real UDP on
// loopback, with node-datachannel on both sides: the node keeps one
// certificate (so the certhash in the node set stays valid across
// restarts), serves a libp2p dialer, and bounds what unauthenticated STUN
// requests can make it build (node/network/webrtc-guard.ts).
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { webRTCDirect } from '@libp2p/webrtc';
import type { Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHost,
  type Host,
  type HostLimits,
  type NetLogger,
} from '../../node/network/index.ts';
import {
  WEBRTC_CERT_FILE,
  loadOrCreateWebRtcCertificate,
  type WebRtcCertificate,
} from '../../node/network/webrtc-cert.ts';
import { MAX_WEBRTC_PENDING } from '../../node/network/webrtc-guard.ts';
import { echoPing, serveEcho, sleep } from '../support/echo-node.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup.length = 0;
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkms-rtc-'));
  cleanup.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

interface Drops {
  readonly log: NetLogger;
  count(reason: string): number;
}

function dropLog(): Drops {
  const reasons: string[] = [];
  const log: NetLogger = {
    debug(message, fields) {
      if (message === 'connection refused before its upgrade')
        reasons.push(String((fields as { reason?: unknown } | undefined)?.reason));
    },
    info() {},
    warn() {},
    error() {},
  };
  return { log, count: (reason) => reasons.filter((r) => r === reason).length };
}

async function rtcNode(
  certificate: WebRtcCertificate,
  options: { limits?: Partial<HostLimits>; log?: NetLogger } = {},
): Promise<{ host: Host; addr: Multiaddr }> {
  const h = await createHost(
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'],
      nodeSetPeers: [],
      allow: [],
      webrtcCertificate: certificate,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    },
    { log: options.log ?? dropLog().log },
  );
  cleanup.push(() => h.close());
  await serveEcho(h.libp2p);
  const addr = h.libp2p.getMultiaddrs().find((a) => a.toString().includes('/webrtc-direct'));
  if (addr === undefined) throw new Error('node is not listening on webrtc-direct');
  return { host: h, addr };
}

async function echo(addr: Multiaddr): Promise<string> {
  const client = await createLibp2p({
    transports: [webRTCDirect({ rtcConfiguration: { iceServers: [] } })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  cleanup.push(() => client.stop());
  return echoPing(client, addr);
}

/** One STUN attribute: type, length, value padded to 4 bytes. */
function attribute(type: number, value: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  out.set(value, 4);
  return out;
}

/**
 * An ICE connectivity check (RFC 8445 §7.2.2, a STUN binding request) as a
 * WebRTC-direct dialer sends first: USERNAME `ufrag:ufrag`, PRIORITY,
 * ICE-CONTROLLING, MESSAGE-INTEGRITY keyed with the ufrag (WebRTC-direct
 * uses it as the password too, so anyone can compute it) and FINGERPRINT.
 */
function stunBindingRequest(ufrag: string): Uint8Array {
  const header = (length: number): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0); // Binding Request
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(0x2112a442, 4); // magic cookie
    transaction.copy(h, 8);
    return h;
  };
  const transaction = randomBytes(12);
  const body = Buffer.concat([
    attribute(0x0006, Buffer.from(`${ufrag}:${ufrag}`)), // USERNAME
    attribute(0x0024, Buffer.from([0x6e, 0x00, 0x01, 0xff])), // PRIORITY
    attribute(0x802a, randomBytes(8)), // ICE-CONTROLLING
  ]);
  const mac = createHmac('sha1', ufrag)
    .update(Buffer.concat([header(body.length + 24), body]))
    .digest();
  const signed = Buffer.concat([header(body.length + 24 + 8), body, attribute(0x0008, mac)]);
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(signed) ^ 0x5354554e) >>> 0);
  return Buffer.concat([signed, attribute(0x8028, fingerprint)]);
}

function udpPort(addr: Multiaddr): number {
  return Number(addr.getComponents().find((c) => c.name === 'udp')?.value);
}

describe('WebRTC-direct', () => {
  it('keeps one certificate per node: a 0600 file, the same certhash after a restart', async () => {
    const dir = tempDir();
    const first = await loadOrCreateWebRtcCertificate(dir);
    const again = await loadOrCreateWebRtcCertificate(dir);
    expect(again).toEqual(first);
    expect(first.certhash).toMatch(/^uEi[A-Za-z0-9_-]{44}$/);
    expect(statSync(join(dir, WEBRTC_CERT_FILE)).mode & 0o777).toBe(0o600);
    const { addr } = await rtcNode(first);
    expect(addr.toString()).toContain(`/webrtc-direct/certhash/${first.certhash}/p2p/`);
  });

  it('serves a libp2p dialer that pins the certhash', async () => {
    const { addr } = await rtcNode(await loadOrCreateWebRtcCertificate(tempDir()));
    expect(await echo(addr)).toBe('ping');
  });

  it('bounds the peer connections unauthenticated STUN requests make it build', async () => {
    const drops = dropLog();
    const { addr } = await rtcNode(await loadOrCreateWebRtcCertificate(tempDir()), {
      limits: { maxConnectionsPerIp: 4 },
      log: drops.log,
    });
    const send = async (localAddress: string, n: number): Promise<void> => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => {
        socket.bind(0, localAddress, resolve);
      });
      for (let i = 0; i < n; i++) {
        socket.send(
          stunBindingRequest(`libp2p+webrtc+v1/${randomBytes(16).toString('hex')}`),
          udpPort(addr),
          '127.0.0.1',
        );
      }
      await sleep(300);
      socket.close();
    };
    const sources = Array.from({ length: 20 }, (_, i) => `127.0.3.${i + 2}`);
    // One source: past maxConnectionsPerIp handshakes, the rest are dropped unbuilt.
    await send('127.0.0.5', 20);
    expect(drops.count('block')).toBeGreaterThanOrEqual(20 - 4);
    // Many sources (as forged UDP sources would be): the total cap holds.
    await Promise.all(sources.map(async (source) => send(source, 3)));
    expect(drops.count('total')).toBeGreaterThanOrEqual(4 + 60 - MAX_WEBRTC_PENDING);
    // The handshakes end by the upgrade deadline, and an honest dialer is then served.
    await sleep(3_500);
    expect(await echo(addr)).toBe('ping');
  });
});
