// The node-set document tests' world (protocol/node-set/*.test.ts): n nodes
// and m admins with keys from fixed seeds, a signed 5-node, 2-of-2-admin
// document, and helpers to edit it and to expect INVALID_NODE_SET naming a
// field.
import { expect } from 'vitest';
import { concatBytes, toHex } from '../../protocol/bytes.ts';
import { DomainTag, tagBytes } from '../../protocol/domain-tags.ts';
import { ErrorCode, QkmsError } from '../../protocol/errors.ts';
import {
  DEFAULT_NODE_SET_PARAMS,
  createNodeSetDocument,
  nodeSetId,
  signNodeSet,
  type NodeSetDocumentInput,
  type NodeSetDocumentJson,
} from '../../protocol/node-set/index.ts';
import { peerIdFromEd25519PublicKey } from '../../protocol/peer-id.ts';
import { requireNativeSuite, type CryptoSuite } from '../../protocol/suite/index.ts';

export const native = requireNativeSuite();

export type Mutable<T> = { -readonly [K in keyof T]: Mutable<T[K]> };
export type Doc = Mutable<NodeSetDocumentJson>;

export function seed(byte: number, length = 32): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

export interface Fixture {
  readonly input: NodeSetDocumentInput;
  readonly nodeKeys: readonly Uint8Array[];
  readonly adminSecrets: readonly Uint8Array[];
}

/** n nodes and m admins with keys from fixed seeds, so ids are reproducible. */
export function fixture(suite: CryptoSuite, n: number, m: number, k: number, salt = 0): Fixture {
  const nodeKeys: Uint8Array[] = [];
  const nodes = Array.from({ length: n }, (_, i) => {
    const { publicKey } = suite.ed25519.keygen(seed(salt + 10 + i));
    nodeKeys.push(publicKey);
    return {
      index: i + 1,
      peerId: peerIdFromEd25519PublicKey(publicKey),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${7101 + i}`, `/ip6/::1/tcp/${7101 + i}`],
      kemPublicKey: suite.xwing.keygen(seed(salt + 40 + i)).publicKey,
    };
  });
  const admins = Array.from({ length: m }, (_, i) => suite.hybrid.keygen(seed(salt + 80 + i, 64)));
  return {
    input: {
      epoch: 1,
      threshold: 3,
      nodes,
      admins: { threshold: k, keys: admins.map((a) => a.publicKey) },
      params: { ...DEFAULT_NODE_SET_PARAMS, siweDomain: 'qkms.local', chainId: 1 },
    },
    nodeKeys,
    adminSecrets: admins.map((a) => a.secretKey),
  };
}

export const fx = fixture(native, 5, 2, 2);
export const DOC = createNodeSetDocument(fx.input);
export const ID = nodeSetId(native, DOC);
export const SIGS = [
  signNodeSet(native, DOC, { index: 0, secretKey: fx.adminSecrets[0]! }),
  signNodeSet(native, DOC, { index: 1, secretKey: fx.adminSecrets[1]! }),
];
/** A key no node set lists. */
export const OUTSIDER = native.hybrid.keygen(seed(0xee, 64));

export function clone<T>(value: T): Mutable<T> {
  return JSON.parse(JSON.stringify(value)) as Mutable<T>;
}

export function edit(change: (d: Doc) => void): Doc {
  const d = clone(DOC);
  change(d);
  return d;
}

export function expectInvalid(run: () => unknown, field: string): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(QkmsError);
  const q = error as QkmsError;
  expect(q.code).toBe(ErrorCode.INVALID_NODE_SET);
  expect(q.message.startsWith(`${field}: expected `), q.message).toBe(true);
}

/** Signs tag || id with any hybrid key, listed or not. */
export function rawSignature(suite: CryptoSuite, id: Uint8Array, secretKey: Uint8Array): string {
  return toHex(
    suite.hybrid.sign(concatBytes(tagBytes(DomainTag.NODE_SET_SIGNATURE), id), secretKey),
  );
}

export function flipHex(hex: string, at: number): string {
  const c = hex.charAt(at);
  return hex.slice(0, at) + (c === '0' ? '1' : '0') + hex.slice(at + 1);
}
