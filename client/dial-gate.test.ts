import { multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it } from 'vitest';
import type { NodeSet } from '../protocol/internal.ts';
import { dialOnlyNodeSet } from './dial-gate.ts';

const PEER = '12D3KooWCb6P6NqdpgSkh2DVtJff2VZ7amcHBz9JdHQZ3STxNDXV';
const OTHER = '12D3KooWPSQKcPxxPagbykTj1YMjiDfkAzPMDaSKx1TsGBuyEiQT';
const DNSADDR_PEER = '12D3KooWSjS1a1BMRADszz7pMBP5dBTuXiKnpmAUXG9bCkxTHQ1A';
const nodeSet = {
  nodes: [
    { peerId: DNSADDR_PEER, multiaddrs: ['/dnsaddr/node2.example.com'] },
    {
      peerId: PEER,
      multiaddrs: [
        '/ip4/127.0.0.1/tcp/7101',
        '/ip4/127.0.0.1/tcp/8101/ws',
        '/ip4/127.0.0.1/udp/8101/webrtc-direct/certhash/uEiAmsxazriw2yxeM410-knBKm_MCebJxiY8YxPTlAlHcTg',
      ],
    },
  ],
} as unknown as NodeSet;

describe('dialOnlyNodeSet', () => {
  const gate = dialOnlyNodeSet(nodeSet);
  it.each([
    '/ip4/127.0.0.1/tcp/7101',
    `/ip4/127.0.0.1/tcp/7101/p2p/${PEER}`,
    `/ip4/127.0.0.1/tcp/8101/ws/p2p/${PEER}`,
    `/ip4/127.0.0.1/udp/8101/webrtc-direct/certhash/uEiAmsxazriw2yxeM410-knBKm_MCebJxiY8YxPTlAlHcTg/p2p/${PEER}`,
  ])('allows a listed address (loopback, ws) with or without its PeerId: %s', (addr) => {
    expect(gate.denyDialMultiaddr(multiaddr(addr))).toBe(false);
  });

  it.each([
    '/ip4/127.0.0.1/tcp/7102',
    '/ip4/10.0.0.1/tcp/7101',
    '/ip4/127.0.0.1/tcp/7101/ws',
    '/ip4/127.0.0.1/udp/8101/webrtc-direct/certhash/uEiBssAOZpNCNsLUG2tdqByqAZQtKTq53S7HUtALdh8qkFw',
    `/ip4/10.0.0.1/tcp/7101/p2p/${OTHER}`,
    `/ip4/10.0.0.1/tcp/7101/p2p/${PEER}`,
  ])('denies any other address: %s', (addr) => {
    expect(gate.denyDialMultiaddr(multiaddr(addr))).toBe(true);
  });

  it("lets through what a listed /dnsaddr resolves to: addresses with that node's PeerId", () => {
    expect(gate.denyDialMultiaddr(multiaddr(`/ip4/192.0.2.7/tcp/7101/p2p/${DNSADDR_PEER}`))).toBe(
      false,
    );
    expect(gate.denyDialMultiaddr(multiaddr('/ip4/192.0.2.7/tcp/7101'))).toBe(true);
  });
});

describe('dialOnlyNodeSet: allow', () => {
  it("lets through a successor's addresses once allowed, and keeps the earlier set's", () => {
    const gate = dialOnlyNodeSet(nodeSet);
    const joined = `/ip4/192.0.2.9/tcp/7106/p2p/${OTHER}`;
    expect(gate.denyDialMultiaddr(multiaddr(joined))).toBe(true);
    gate.allow({
      nodes: [{ peerId: OTHER, multiaddrs: ['/ip4/192.0.2.9/tcp/7106'] }],
    } as unknown as NodeSet);
    expect(gate.denyDialMultiaddr(multiaddr(joined))).toBe(false);
    expect(gate.denyDialMultiaddr(multiaddr(`/ip4/127.0.0.1/tcp/7101/p2p/${PEER}`))).toBe(false);
    expect(gate.denyDialMultiaddr(multiaddr('/ip4/192.0.2.9/tcp/7107'))).toBe(true);
  });
});
