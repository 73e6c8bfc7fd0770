// A publish receipt is a node's signature: it verifies under that node's key
// and no other, and not once its body changed.
import { PROTOCOL_VERSION } from '../constants.ts';
import { describe, expect, it } from 'vitest';
import {
  contentFixture,
  FIXTURE_TIME,
  quorumFixture,
  sessionFixture,
} from '../../test/support/protocol-fixture.ts';
import { manifestHash } from '../manifest.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { signReceipt, verifyReceipt } from './receipt.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const { nodeSet } = quorum;
const player = await sessionFixture(suite, nodeSet);
const content = contentFixture(suite, nodeSet, player);

const receipt = signReceipt(quorum.nodes[1]!.identity, {
  version: PROTOCOL_VERSION,
  nodeSetId: nodeSet.id,
  node: 2,
  contentId: content.contentId,
  manifestHash: manifestHash(suite, content.manifest),
  status: 'stored',
  at: FIXTURE_TIME,
});

describe('publish receipt', () => {
  it('a receipt verifies under its node key only', () => {
    expect(verifyReceipt(suite, receipt, quorum.nodes[1]!.identity.publicKey)).toBe(true);
    expect(verifyReceipt(suite, receipt, quorum.nodes[0]!.identity.publicKey)).toBe(false);
    expect(
      verifyReceipt(
        suite,
        { ...receipt, body: { ...receipt.body, status: 'unchanged' } },
        quorum.nodes[1]!.identity.publicKey,
      ),
    ).toBe(false);
  });
});
