// The shape every wire message codec has (docs/protocol.md §8). A message is
// one canonical CBOR map: `v` (protocol version) and `t` (message type), which
// registry.ts writes and checks, plus the fields a codec maps here. Each
// protocol's file (recover.ts, publish.ts, info.ts, revoke.ts, revsync.ts,
// audit-head.ts, reject.ts) declares its message types and their codecs;
// registry.ts lists them, and the message union, encodeMessage and
// decodeMessage derive from that list.
import type { CborValue } from '../codec/cbor.ts';
import type { CborMap } from '../codec/read.ts';

/** How one message type maps to the fields of its CBOR map, besides `v` and `t`. */
export interface MessageCodec<M extends { readonly type: string }> {
  /** The `t` of the map. */
  readonly type: M['type'];
  /** Keys the map must hold besides `v` and `t`: decodeMessage refuses a map without one. */
  readonly required: readonly string[];
  /** Keys it may hold; any other key is refused. */
  readonly optional: readonly string[];
  /** The message's fields as CBOR values (registry.ts adds `v` and `t`). */
  encode(message: M): Record<string, CborValue>;
  /** Reads the fields of a map whose key set has been checked: strict, MALFORMED naming the field. */
  decode(m: CborMap): M;
}
