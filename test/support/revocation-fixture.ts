// Revocation worlds for unit tests: node sets with m admins and threshold k
// (the protocol fixture has one admin of threshold 1), bodies of every kind
// with deterministic targets, signed records, and a hand encoder for records
// the library itself would never produce (forged, unsorted, malformed).
import {
  RECORD_VERSION,
  createNodeSetDocument,
  encodeCanonical,
  parseSignedNodeSet,
  serializeSignedNodeSet,
  signNodeSet,
  type CborValue,
  type CryptoSuite,
  type NodeSet,
} from '../../protocol/internal.ts';
import {
  TARGET_BYTES,
  signRevocation,
  type Principals,
  type RevocationBody,
  type RevocationKind,
  type RevocationRecord,
} from '../../revocation/index.ts';
import { FIXTURE_TIME, quorumFixture, seedBytes } from './protocol-fixture.ts';

export interface AdminsFixture {
  readonly nodeSet: NodeSet;
  /** 64-byte hybrid seeds; adminSeeds[i] is admins.keys[i]. */
  readonly adminSeeds: readonly Uint8Array[];
}

/**
 * The protocol fixture's nodes under `admins` admins of threshold
 * `threshold`, signed by the first `threshold` of them. Another `epoch` gives
 * another node set (another id) with the same nodes and admin keys.
 */
export function adminsFixture(
  suite: CryptoSuite,
  options: { admins: number; threshold: number; epoch?: number; n?: number; t?: number },
): AdminsFixture {
  const base = quorumFixture(suite, options.n ?? 5, options.t ?? 3);
  const adminSeeds = Array.from({ length: options.admins }, (_, i) => seedBytes(310 + i, 64));
  const document = createNodeSetDocument({
    epoch: options.epoch ?? 1,
    // A later epoch names a predecessor (any id will do: these fixtures never walk the chain).
    ...((options.epoch ?? 1) > 1 ? { predecessor: seedBytes(320, 32) } : {}),
    threshold: base.nodeSet.threshold,
    nodes: base.nodeSet.nodes.map((node) => ({
      index: node.index,
      peerId: node.peerId,
      multiaddrs: node.multiaddrs,
      kemPublicKey: node.kemPublicKey,
    })),
    admins: {
      threshold: options.threshold,
      keys: adminSeeds.map((seed) => suite.hybrid.getPublicKey(seed)),
    },
    params: base.nodeSet.params,
  });
  const signatures = adminSeeds
    .slice(0, options.threshold)
    .map((secretKey, index) => signNodeSet(suite, document, { index, secretKey }));
  const nodeSet = parseSignedNodeSet(
    suite,
    JSON.parse(serializeSignedNodeSet(document, signatures)),
  );
  return { nodeSet, adminSeeds };
}

/** A 64-byte hybrid seed that is no admin's. */
export const NON_ADMIN_SEED = seedBytes(999, 64);

/** A target of `kind` unique to `label` (its first four bytes are the label, big-endian). */
export function targetOf(kind: RevocationKind, label: number): Uint8Array {
  const target = seedBytes(1000 + label, TARGET_BYTES[kind]);
  new DataView(target.buffer).setUint32(0, label);
  return target;
}

/** A body of `kind` with a target derived from `label` (distinct labels, distinct targets). */
export function revocationBody(
  nodeSet: NodeSet,
  kind: RevocationKind,
  label = 1,
  overrides: Partial<RevocationBody> = {},
): RevocationBody {
  return {
    nodeSetId: nodeSet.id,
    kind,
    target: targetOf(kind, label),
    ...(kind === 'wallet-sessions-before' ? { before: FIXTURE_TIME - label } : {}),
    issuedAt: FIXTURE_TIME + label,
    reason: `test revocation ${label}`,
    ...overrides,
  };
}

/** `count` signed records of rotating kinds, labels from `first`. */
export function signedRecords(
  suite: CryptoSuite,
  fixture: { readonly nodeSet: NodeSet; readonly adminSeed: Uint8Array },
  count: number,
  first = 1,
): RevocationRecord[] {
  const kinds: RevocationKind[] = [
    'wallet',
    'wallet-sessions-before',
    'session',
    'delegation',
    'content',
  ];
  return Array.from({ length: count }, (_, i) =>
    signRevocation(
      suite,
      fixture.nodeSet,
      revocationBody(fixture.nodeSet, kinds[i % kinds.length] as RevocationKind, first + i),
      [fixture.adminSeed],
    ),
  );
}

/** The body's CBOR as record.ts encodes it, with fields added or removed for malformed cases. */
export function bodyCbor(
  body: RevocationBody,
  edit: (fields: Record<string, CborValue>) => void = () => undefined,
): Record<string, CborValue> {
  const fields: Record<string, CborValue> = {
    v: RECORD_VERSION,
    nodeSet: body.nodeSetId,
    kind: body.kind,
    target: body.target,
    issuedAt: body.issuedAt,
    reason: body.reason,
  };
  if (body.before !== undefined) fields['before'] = body.before;
  edit(fields);
  return fields;
}

/** A record's bytes from a body and signatures as given: no sorting, no checks. */
export function encodeRecord(
  body: Record<string, CborValue>,
  sigs: readonly { readonly admin: number; readonly signature: Uint8Array }[],
): Uint8Array {
  return encodeCanonical({ body, sigs: sigs.map((s) => ({ admin: s.admin, sig: s.signature })) });
}

/** The record with its last signature byte flipped: it decodes, under the same id, and does not verify. */
export function forged(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 0x01;
  return out;
}

/** Principals of a request that `body` revokes (for "before", a delegation issued just before). */
export function principalsFor(body: RevocationBody): Principals {
  const p: Principals = {
    wallet: seedBytes(50, TARGET_BYTES.wallet),
    session: seedBytes(51, TARGET_BYTES.session),
    delegation: seedBytes(52, TARGET_BYTES.delegation),
    delegationIssuedAt: FIXTURE_TIME,
    content: seedBytes(53, TARGET_BYTES.content),
  };
  switch (body.kind) {
    case 'wallet':
      return { ...p, wallet: body.target };
    case 'wallet-sessions-before':
      return { ...p, wallet: body.target, delegationIssuedAt: (body.before ?? 0) - 1 };
    case 'session':
      return { ...p, session: body.target };
    case 'delegation':
      return { ...p, delegation: body.target };
    case 'content':
      return { ...p, content: body.target };
  }
}
