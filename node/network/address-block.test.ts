import { multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it } from 'vitest';
import { addressBlock, ipBlock } from './address-block.ts';

describe('addressBlock: the unit per-source limits count in', () => {
  it.each([
    ['/ip4/203.0.113.7/tcp/1', 'ip4/203.0.113.7'],
    [
      '/ip4/203.0.113.7/tcp/1/p2p/12D3KooWCb6P6NqdpgSkh2DVtJff2VZ7amcHBz9JdHQZ3STxNDXV',
      'ip4/203.0.113.7',
    ],
    ['/ip6/2001:db8:1:2:3:4:5:6/tcp/1', 'ip6/2001:db8:1:2::/64'],
    ['/ip6/2001:db8:1:2:ffff::9/tcp/1', 'ip6/2001:db8:1:2::/64'],
    ['/ip6/::ffff:203.0.113.7/tcp/1', 'ip4/203.0.113.7'],
    ['/dns4/example.com/tcp/1', 'dns4/example.com'],
  ])('%s is in block %s', (addr, block) => {
    expect(addressBlock(multiaddr(addr))).toBe(block);
  });

  it('puts every address of one IPv6 /64 in one block, and the next /64 in another', () => {
    const a = ipBlock('2001:db8:aa:bb::1', 6);
    expect(ipBlock('2001:db8:aa:bb:1234:5678:9abc:def0', 6)).toBe(a);
    expect(ipBlock('2001:db8:aa:bc::1', 6)).not.toBe(a);
  });

  it('maps IPv4-mapped IPv6 in either spelling to the IPv4 address', () => {
    expect(ipBlock('::ffff:127.0.0.2', 6)).toBe('ip4/127.0.0.2');
    expect(ipBlock('::ffff:7f00:2', 6)).toBe('ip4/127.0.0.2');
    expect(ipBlock('0:0:0:0:0:ffff:7f00:2', 6)).toBe(ipBlock('127.0.0.2', 4));
  });

  it('keys an unparsable IPv6 text by itself rather than sharing a block', () => {
    expect(ipBlock('1::2::3', 6)).toBe('ip6/1::2::3');
  });
});
