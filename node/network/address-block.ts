// The source-address block a connection comes from (issue 12 item 4): the
// unit that per-source limits count in, because a PeerId costs nothing to
// make but an address block does. IPv4: the /32 address. IPv6: the /64
// prefix — one subscriber or site usually gets a whole /64 (RFC 6177), so a
// host can rotate through 2^64 addresses inside it. An IPv4-mapped IPv6
// address (`::ffff:a.b.c.d`, what a dual-stack `::` listener sees) is the
// IPv4 address it maps. A transport without an IP (none today; WebRTC or a
// relay later) is keyed by its first multiaddr component as a whole.
import { CODE_IP4, CODE_IP6, type Multiaddr } from '@multiformats/multiaddr';

/** Leading 16-bit groups of an IPv6 address that make its block (a /64). */
const IPV6_BLOCK_GROUPS = 4;

/**
 * The eight 16-bit groups of an IPv6 address in text, or undefined if it is
 * not one. Hand-written because neither node:net nor our dependencies expose
 * IPv6 expansion; the multiaddr parser already validated the text.
 */
function ipv6Groups(text: string): number[] | undefined {
  const zone = text.indexOf('%');
  let s = zone === -1 ? text : text.slice(0, zone);
  const tail: number[] = [];
  if (s.includes('.')) {
    // An embedded IPv4 address (`::ffff:1.2.3.4`) is the last two groups.
    const cut = s.lastIndexOf(':');
    const bytes = s.slice(cut + 1).split('.');
    if (bytes.length !== 4 || !bytes.every((b) => /^\d{1,3}$/.test(b) && Number(b) <= 255))
      return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = bytes.map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    s = s.slice(0, cut + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const given = head.length + rest.length + tail.length;
  const fill = halves.length === 2 ? 8 - given : 0;
  const groups = [...head, ...Array<number>(Math.max(fill, 0)).fill(0), ...rest, ...tail];
  if (groups.length !== 8 || fill < 0 || groups.some((g) => Number.isNaN(g))) return undefined;
  return groups;
}

/** The block key of an IP address in text: `ip4/a.b.c.d` or `ip6/g:g:g:g::/64`. */
export function ipBlock(address: string, version: 4 | 6): string {
  if (version === 4) return `ip4/${address}`;
  const groups = ipv6Groups(address);
  if (groups === undefined) return `ip6/${address}`; // unparsable: the address alone
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `ip4/${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  const prefix = groups.slice(0, IPV6_BLOCK_GROUPS).map((g) => g.toString(16));
  return `ip6/${prefix.join(':')}::/64`;
}

/** The block key of a connection's remote multiaddr (see the file comment). */
export function addressBlock(remote: Multiaddr): string {
  const [first] = remote.getComponents();
  if (first === undefined) return 'none';
  if (first.code === CODE_IP4 && first.value !== undefined) return ipBlock(first.value, 4);
  if (first.code === CODE_IP6 && first.value !== undefined) return ipBlock(first.value, 6);
  return `${first.name}/${first.value ?? ''}`;
}
