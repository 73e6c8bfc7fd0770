// The audit witness (decision 0010): a peer's head moves only forward and an
// older one is logged as evidence; a statement not signed by the peer it
// names is refused; a witnessed head of this node's own log that its chain
// does not hold makes it not ready (NOT_READY), naming the witness — from a
// peer's answer, or from the witness file alone after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  requireNativeSuite,
  signAuditHead,
  type SignedAuditHead,
  type SigningKey,
} from '../../protocol/internal.ts';
import { quorumFixture } from '../../test/support/protocol-fixture.ts';
import { createLogger } from '../log.ts';
import { AUDIT_WITNESS_FILE } from './witness-file.ts';
import { AuditWitness } from './witness.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite, 3, 2);
const { nodeSet } = quorum;
const key = (index: number): SigningKey => quorum.nodes[index - 1]!.identity;
const hashOf = (seq: number): Uint8Array => new Uint8Array(32).fill(seq);

function head(index: number, seq: number, signer = key(index)): SignedAuditHead {
  return signAuditHead(signer, {
    nodeSetId: nodeSet.id,
    node: index,
    seq,
    hash: hashOf(seq),
    at: 1,
  });
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Node 1's witness with a chain of `ownSeq` records (record k has hash k…k); its log lines. */
async function witnessOf(ownSeq: number, dir?: string) {
  const path = join(dir ?? mkdtempSync(join(tmpdir(), 'qkms-witness-')), AUDIT_WITNESS_FILE);
  if (dir === undefined) dirs.push(join(path, '..'));
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    sink: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
  });
  const witness = await AuditWitness.open({
    suite,
    nodeSet,
    selfIndex: 1,
    signer: key(1),
    head: () => ({ seq: ownSeq, hash: hashOf(ownSeq) }),
    hashAt: (seq) => Promise.resolve(seq <= ownSeq ? hashOf(seq) : undefined),
    path,
    clock: () => 2,
    log,
  });
  return { witness, lines, dir: join(path, '..') };
}

describe('AuditWitness', () => {
  it("keeps a peer's highest head; an older one is logged as evidence and changes nothing", async () => {
    const { witness, lines } = await witnessOf(5);
    await witness.fromPeer(2, head(2, 7));
    await witness.fromPeer(2, head(2, 9));
    await witness.fromPeer(2, head(2, 4));
    expect(witness.witnessedOf(2)?.body.seq).toBe(9);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'peer presented an older audit head than one it signed before',
        peer: 2,
        presentedSeq: 4,
        witnessedSeq: 9,
      }),
    );
  });

  it('refuses a statement not signed by the peer that sent it, or naming another node', async () => {
    const { witness } = await witnessOf(5);
    await expect(witness.fromPeer(2, head(2, 3, key(3)))).rejects.toMatchObject({
      code: ErrorCode.MALFORMED,
    });
    await expect(witness.fromPeer(2, head(3, 3))).rejects.toMatchObject({
      code: ErrorCode.MALFORMED,
    });
    expect(witness.witnessedOf(2)).toBeUndefined();
  });

  it('stays ready while every witnessed head of its own is in its chain', async () => {
    const { witness } = await witnessOf(5);
    await witness.ownWitnessed(2, head(1, 3));
    await witness.ownWitnessed(3, head(1, 5));
    expect(witness.rollback()).toBeUndefined();
    expect(() => {
      witness.assertNotRolledBack();
    }).not.toThrow();
  });

  it('a witnessed head past its own makes it not ready, naming the witness and both seqs', async () => {
    const { witness, lines } = await witnessOf(5);
    await witness.ownWitnessed(3, head(1, 8));
    expect(witness.rollback()).toMatchObject({ witness: 3, witnessedSeq: 8, ownSeq: 5 });
    expect(witness.reason()).toBe(
      "audit log rolled back: node 3 witnessed this node's head 8, its log ends at 5",
    );
    expect(() => {
      witness.assertNotRolledBack();
    }).toThrow(expect.objectContaining({ code: ErrorCode.NOT_READY }));
    expect(lines.some((l) => String(l['msg']).startsWith('AUDIT LOG ROLLED BACK'))).toBe(true);
  });

  it('a witnessed head with another hash at a seq it holds is a fork', async () => {
    const { witness } = await witnessOf(5);
    const forged = signAuditHead(key(1), {
      nodeSetId: nodeSet.id,
      node: 1,
      seq: 4,
      hash: new Uint8Array(32).fill(0xee),
      at: 1,
    });
    await witness.ownWitnessed(2, forged);
    expect(witness.rollback()).toMatchObject({ witness: 2, problem: 'forked' });
  });

  it('ignores a "witnessed" head of its own that it did not sign', async () => {
    const { witness } = await witnessOf(5);
    await witness.ownWitnessed(2, head(1, 8, key(2)));
    expect(witness.rollback()).toBeUndefined();
  });

  it('keeps what it witnessed in its file: after a restart with a shorter log, it is not ready before any peer answers', async () => {
    const first = await witnessOf(8);
    await first.witness.ownWitnessed(2, head(1, 8));
    await first.witness.fromPeer(3, head(3, 6));
    await first.witness.close();
    const again = await witnessOf(5, first.dir);
    expect(again.witness.rollback()).toMatchObject({ witness: 2, witnessedSeq: 8, ownSeq: 5 });
    expect(again.witness.witnessedOf(3)?.body.seq).toBe(6);
  });
});
