// The signed node-set file: create → sign → serialize → parse round trips
// keep the id, nodes and params; serializing normalizes and is idempotent;
// text that is not JSON, too long, or holds an invalid document is refused.
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import {
  MAX_NODE_SET_JSON_CHARS,
  createNodeSetDocument,
  parseNodeSetDocument,
  parseSignedNodeSet,
  parseSignedNodeSetJson,
  serializeSignedNodeSet,
  signNodeSet,
  type NodeSet,
  type NodeSetSignatureJson,
} from './index.ts';
import { peerIdFromEd25519PublicKey } from '../peer-id.ts';
import {
  DOC,
  ID,
  SIGS,
  edit,
  expectInvalid,
  fixture,
  flipHex,
  fx,
  native,
  seed,
} from '../../test/support/node-set-fixture.ts';

describe('round trip', () => {
  it('a 5-node, 2-of-2-admin set: create → sign by both → serialize → parse keeps id, nodes, params', () => {
    const text = serializeSignedNodeSet(DOC, [SIGS[1]!, SIGS[0]!]);
    const set = parseSignedNodeSet(native, JSON.parse(text));
    expect(toHex(set.id)).toBe(toHex(ID));
    expect(set.id).toHaveLength(32);
    expect(set.epoch).toBe(1);
    expect(set.threshold).toBe(3);
    expect(set.signers).toEqual([0, 1]);
    expect(set.params).toEqual(fx.input.params);
    expect(set.admins.threshold).toBe(2);
    expect(set.admins.keys.map((k) => toHex(k))).toEqual(fx.input.admins.keys.map((k) => toHex(k)));
    expect(set.nodes.map((n) => n.index)).toEqual([1, 2, 3, 4, 5]);
    set.nodes.forEach((node, i) => {
      const given = fx.input.nodes[i]!;
      expect(node.peerId).toBe(given.peerId);
      expect(toHex(node.nodePublicKey)).toBe(toHex(fx.nodeKeys[i]!));
      expect(node.multiaddrs).toEqual(given.multiaddrs);
      expect(toHex(node.kemPublicKey)).toBe(toHex(given.kemPublicKey));
      expect(set.node(i + 1)).toBe(node);
      expect(set.nodeByPeerId(node.peerId)).toBe(node);
    });
    for (const missing of [0, 6, 1.5, -1, Number.NaN]) expect(set.node(missing)).toBeUndefined();
    expect(set.nodeByPeerId(peerIdFromEd25519PublicKey(seed(1)))).toBeUndefined();
    expect(Object.isFrozen(set) && Object.isFrozen(set.nodes) && Object.isFrozen(set.params)).toBe(
      true,
    );
  });

  it('the serialized file parses from text, and serializing is idempotent', () => {
    const text = serializeSignedNodeSet(DOC, SIGS);
    expect(text.endsWith('}\n')).toBe(true);
    const set = parseSignedNodeSetJson(native, text);
    expect(toHex(set.id)).toBe(toHex(ID));
    const again = JSON.parse(text) as { document: unknown; signatures: NodeSetSignatureJson[] };
    expect(serializeSignedNodeSet(again.document, again.signatures)).toBe(text);
  });

  it('serialize normalizes: nodes by index, signatures by admin, whatever order it is given', () => {
    const shuffled = edit((d) => d.nodes.reverse());
    expect(serializeSignedNodeSet(shuffled, [SIGS[1]!, SIGS[0]!])).toBe(
      serializeSignedNodeSet(DOC, SIGS),
    );
  });

  it('createNodeSetDocument lists nodes by index whatever the input order', () => {
    const reversed = createNodeSetDocument({ ...fx.input, nodes: [...fx.input.nodes].reverse() });
    expect(reversed).toEqual(DOC);
    expect(DOC.nodes.map((n) => n.index)).toEqual([1, 2, 3, 4, 5]);
    expect(DOC.qkmsNodeSet).toBe(1);
  });

  it('an unsigned document parses for tools but is a different type from a trusted NodeSet', () => {
    const unsigned = parseNodeSetDocument(native, DOC);
    expect(toHex(unsigned.id)).toBe(toHex(ID));
    expect('signers' in unsigned).toBe(false);
    // @ts-expect-error an unsigned document is not a NodeSet
    const trusted: NodeSet = unsigned;
    expect(trusted).toBeDefined();
  });

  it('k of m: one signature is enough when k = 1, and every signature present must verify', () => {
    const f = fixture(native, 3, 2, 1);
    const doc = createNodeSetDocument({ ...f.input, threshold: 2 });
    const one = signNodeSet(native, doc, { index: 1, secretKey: f.adminSecrets[1]! });
    expect(parseSignedNodeSet(native, { document: doc, signatures: [one] }).signers).toEqual([1]);
    const bad = { admin: 0, signature: flipHex(one.signature, 10) };
    expectInvalid(
      () => parseSignedNodeSet(native, { document: doc, signatures: [one, bad] }),
      'signatures[1].signature',
    );
  });
});

describe('the file as text', () => {
  it('parseSignedNodeSetJson refuses text that is not JSON or is too long', () => {
    expectInvalid(() => parseSignedNodeSetJson(native, '{"document":'), 'nodeSet');
    expectInvalid(
      () => parseSignedNodeSetJson(native, ' '.repeat(MAX_NODE_SET_JSON_CHARS + 1)),
      'nodeSet',
    );
  });

  it('serializeSignedNodeSet refuses an invalid document or malformed signatures', () => {
    expectInvalid(
      () =>
        serializeSignedNodeSet(
          edit((d) => (d.threshold = 9)),
          SIGS,
        ),
      'document.threshold',
    );
    expectInvalid(() => serializeSignedNodeSet(DOC, [SIGS[0]!, SIGS[0]!]), 'signatures[1].admin');
  });
});
