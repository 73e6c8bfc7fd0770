// The published protocol vectors (test/vectors/protocol/vectors.json, see
// docs/protocol.md §11) still describe this code: every deterministic value
// is recomputed from the same fixed seeds and compared byte for byte; the
// randomized ones (HPKE seals, the admin-signed node-set file) are opened
// and verified.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildVectors } from '../test/vectors/protocol/build.ts';
import { fromHex } from './bytes.ts';
import { decodeMessage } from './messages/registry.ts';
import { parseSignedNodeSetJson } from './node-set/index.ts';
import { requireNativeSuite } from './suite/native.ts';
import { nobleSuite } from './suite/noble.ts';

type Vectors = Awaited<ReturnType<typeof buildVectors>>;
const file = JSON.parse(
  readFileSync(new URL('../test/vectors/protocol/vectors.json', import.meta.url), 'utf8'),
) as Vectors;

describe('protocol vectors', () => {
  for (const suite of [requireNativeSuite(), nobleSuite]) {
    it(`${suite.name}: recomputing every vector from its seeds gives the file, byte for byte`, async () => {
      const rebuilt = await buildVectors(
        {
          nodeSetFile: file.nodeSet.file,
          successorFile: file.handover.successorFile,
          cutoverRecord: file.handover.cutoverRecord,
          ticket: file.handover.dealing.ticket,
          dealt: file.handover.dealing.reshareDealt,
          recoverSeal: file.recoverSeal,
          publishSeal: file.publishSeal,
        },
        suite,
      );
      expect(rebuilt).toEqual(file);
    });
  }

  it('the node-set file verifies and has the listed id', () => {
    const set = parseSignedNodeSetJson(nobleSuite, file.nodeSet.file);
    expect(Buffer.from(set.id).toString('hex')).toBe(file.nodeSet.nodeSetId);
  });

  it('every message vector decodes as its type', () => {
    const cases: [string, Parameters<typeof decodeMessage>[2]][] = [
      [file.recoverRequest.message, ['recover']],
      [file.recoverSeal.message, ['share']],
      [file.publishSeal.message, ['publish']],
      [file.receipt.message, ['receipt']],
      [file.messages.info, ['info']],
      [file.messages.infoOk, ['info-ok']],
      [file.messages.rejectReplayed, ['reject']],
      [file.messages.rejectVersion, ['reject']],
      [file.handover.shareWithSharing, ['share']],
      [file.handover.reshareCutover, ['reshare-cutover']],
      [file.handover.reshareCutoverOk, ['reshare-cutover-ok']],
      [file.handover.nodeSet, ['node-set']],
      [file.handover.nodeSetOk, ['node-set-ok']],
      [file.handover.dealing.reshareList, ['reshare-list']],
      [file.handover.dealing.reshareListOk, ['reshare-list-ok']],
      [file.handover.dealing.reshareDeal, ['reshare-deal']],
      ...file.handover.dealing.reshareDealt.map((m): [string, ['reshare-dealt']] => [
        m,
        ['reshare-dealt'],
      ]),
      [file.handover.dealing.reshareCommitToNode1, ['reshare-commit']],
      ...file.handover.dealing.reshareCommitted.map((m): [string, ['reshare-committed']] => [
        m,
        ['reshare-committed'],
      ]),
      [file.handover.dealing.reshareRecord, ['reshare-record']],
      [file.handover.dealing.reshareRecordOk, ['reshare-record-ok']],
      [file.handover.dealing.reshareStatus, ['reshare-status']],
      [file.handover.dealing.reshareStatusOk, ['reshare-status-ok']],
    ];
    for (const [hex, types] of cases)
      expect(decodeMessage(fromHex(hex), 1 << 24, types).type).toBe(types[0]);
  });
});
