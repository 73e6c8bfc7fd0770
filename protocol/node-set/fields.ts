// Field readers of the node-set document (docs/protocol.md §5) and its one
// error: every problem is QkmsError INVALID_NODE_SET whose message names the
// field by its path in the file (`document.nodes[2].kemPublicKey: expected …`);
// node positions in paths are positions in the file's array, not node indexes.
import { fromHex } from '../bytes.ts';
import { readUint } from '../codec/read.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import { ed25519PublicKeyFromPeerId } from '../peer-id.ts';
import { MAX_MULTIADDR_CHARS, MAX_SIWE_DOMAIN_CHARS } from './types.ts';

export function invalid(field: string, expected: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.INVALID_NODE_SET, `${field}: expected ${expected}`, { cause });
}

/** Runs strict readers (codec/read.ts) and reports their MALFORMED as INVALID_NODE_SET. */
export function asNodeSetError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isQkmsError(e, ErrorCode.MALFORMED)) {
      throw new QkmsError(ErrorCode.INVALID_NODE_SET, e.message, { cause: e });
    }
    throw e;
  }
}

/** readUint, with -0 (which JSON can spell) normalized to 0. */
export function readInt(value: unknown, field: string, min: number, max: number): number {
  return readUint(value, field, min, max) + 0;
}

const LOWER_HEX = /^[0-9a-f]*$/;

export function readHex(value: unknown, field: string, bytes: number): Uint8Array {
  const expected = `${bytes} bytes of lower-case hex`;
  if (typeof value !== 'string') throw invalid(field, `${expected}, got ${typeof value}`);
  if (value.length !== 2 * bytes) throw invalid(field, `${expected}, got ${value.length} chars`);
  if (!LOWER_HEX.test(value)) throw invalid(field, `${expected}, got another character`);
  return fromHex(value);
}

export function readPeerId(
  value: unknown,
  field: string,
): { peerId: string; publicKey: Uint8Array } {
  if (typeof value !== 'string') throw invalid(field, `an Ed25519 PeerId, got ${typeof value}`);
  try {
    return { peerId: value, publicKey: ed25519PublicKeyFromPeerId(value) };
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^peerId: expected /, '') : 'a PeerId';
    throw invalid(field, `an Ed25519 PeerId (${reason})`, e);
  }
}

/** Printable ASCII without spaces: no look-alike or invisible characters in a signed, human-read file. */
const MULTIADDR = /^\/[\x21-\x7e]*$/;

export function readMultiaddr(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(field, `a multiaddr string, got ${typeof value}`);
  if (value.length > MAX_MULTIADDR_CHARS) {
    throw invalid(field, `at most ${MAX_MULTIADDR_CHARS} chars, got ${value.length}`);
  }
  if (!MULTIADDR.test(value)) throw invalid(field, "printable ASCII starting with '/'");
  return value;
}

// host[:port] of RFC 3986, narrowed: a lower-case DNS name or IPv4 address, or
// a bracketed IPv6 literal; no userinfo (a credential in the text a wallet
// shows is a phishing aid); port 1..65535 without leading zeros. Lower case
// only, so the exact string comparison with a SIWE message's domain cannot
// fail or pass on case.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const SIWE_DOMAIN = new RegExp(
  `^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]{2,45}\\])(?::([1-9][0-9]{0,4}))?$`,
);

export function readSiweDomain(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(field, `a domain string, got ${typeof value}`);
  if (value.length > MAX_SIWE_DOMAIN_CHARS) {
    throw invalid(field, `at most ${MAX_SIWE_DOMAIN_CHARS} chars, got ${value.length}`);
  }
  const match = SIWE_DOMAIN.exec(value);
  const port = match?.[1];
  if (match === null || (port !== undefined && Number(port) > 65_535)) {
    throw invalid(field, 'a lower-case host[:port] authority (RFC 3986, no userinfo)');
  }
  return value;
}

export function freezeAll<T>(items: T[]): readonly T[] {
  return Object.freeze(items);
}
