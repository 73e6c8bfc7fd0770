// libp2p PeerIds of Ed25519 keys (libp2p specs, peer-ids/peer-ids.md): the
// PeerId is the identity multihash of the protobuf PublicKey, written as bare
// base58btc (the legacy text form every libp2p implementation prints):
//   PublicKey protobuf  = 0x08 0x01 (Type = Ed25519) 0x12 0x20 (Data, 32 bytes) || key
//   identity multihash  = 0x00 (identity) 0x24 (36 bytes) || protobuf
//   PeerId              = base58btc(multihash)      (38 bytes; text starts "12D3KooW")
// Hand-written because it is six constant bytes: pulling in @libp2p/peer-id
// would put libp2p into the browser-safe protocol layer. Only this one form is
// accepted — no CIDv1 ("bafz…") text, no other key types, no SHA-256
// multihashes — so a PeerId string names exactly one key and one spelling.
import { base58 } from '@scure/base';
import { abytes } from './assert.ts';
import { concatBytes } from './bytes.ts';
import { ErrorCode, QkmsError } from './errors.ts';
import { ED25519_LENGTHS } from './suite/types.ts';

/** identity multihash header, then the protobuf PublicKey header for a 32-byte Ed25519 key. */
const ED25519_PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);

/** Bytes of an Ed25519 PeerId: 6 header bytes and the 32-byte key. */
export const ED25519_PEER_ID_BYTES = ED25519_PEER_ID_PREFIX.length + ED25519_LENGTHS.publicKey;

/** Characters of an Ed25519 PeerId: its 38 bytes always spell 52 base58 characters. */
export const ED25519_PEER_ID_CHARS = 52;

function invalid(expected: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, `peerId: expected ${expected}`);
}

/** The PeerId text of an Ed25519 public key (32 bytes). */
export function peerIdFromEd25519PublicKey(publicKey: Uint8Array): string {
  abytes(publicKey, 'publicKey', ED25519_LENGTHS.publicKey);
  return base58.encode(concatBytes(ED25519_PEER_ID_PREFIX, publicKey));
}

/**
 * The Ed25519 public key a PeerId names. Strict: the bare base58btc form
 * only, exactly the Ed25519 identity-multihash prefix and length, and the
 * text must be the one base58 spelling of its bytes. Anything else throws
 * QkmsError INVALID_ARGUMENT naming the problem, never the text.
 */
export function ed25519PublicKeyFromPeerId(peerId: string): Uint8Array {
  if (typeof peerId !== 'string') throw invalid(`a string, got ${typeof peerId}`);
  // Length first: base58 decoding is quadratic, so bound the work before it.
  if (peerId.length !== ED25519_PEER_ID_CHARS) {
    throw invalid(`${ED25519_PEER_ID_CHARS} characters, got ${peerId.length}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(peerId);
  } catch (e) {
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'peerId: expected base58btc text', {
      cause: e,
    });
  }
  if (
    bytes.length !== ED25519_PEER_ID_BYTES ||
    !ED25519_PEER_ID_PREFIX.every((b, i) => bytes[i] === b)
  ) {
    throw invalid('the identity multihash of an Ed25519 public key');
  }
  if (base58.encode(bytes) !== peerId) throw invalid('the canonical base58btc spelling');
  return bytes.slice(ED25519_PEER_ID_PREFIX.length);
}
