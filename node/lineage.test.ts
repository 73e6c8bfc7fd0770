// Which set a node serves after a cutover (decision 0017): the last of its
// stored lineage, whatever file it was started with, as long as that file is
// one the node served; a lineage that does not verify is a corrupt store.
import { describe, expect, it } from 'vitest';
import { ErrorCode, requireNativeSuite } from '../protocol/internal.ts';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import { freshNodeKeys, successorOf } from '../test/support/reshare-fixture.ts';
import { servedLineage } from './lineage.ts';

const suite = requireNativeSuite();
const old = quorumFixture(suite, 5, 3);
const next = successorOf(suite, old, [...old.nodes, freshNodeKeys(suite, 6)], 4);
const other = quorumFixture(suite, 4, 2);
const encoder = new TextEncoder();
const files = [encoder.encode(old.nodeSetFile), encoder.encode(next.toFile)];
const configured = (nodeSet = old.nodeSet, file = old.nodeSetFile) => ({
  nodeSet,
  file: encoder.encode(file),
  path: 'nodeset.json',
});

describe('servedLineage', () => {
  it('without a cutover, serves the configured set', () => {
    const served = servedLineage(suite, configured(), undefined);
    expect(served.nodeSet.id).toEqual(old.nodeSet.id);
    expect(served.ancestors).toEqual([]);
  });

  it('after one, serves the successor from either file, with the old set as ancestor', () => {
    for (const start of [configured(), configured(next.handover.to, next.toFile)]) {
      const served = servedLineage(suite, start, { files, retired: false });
      expect(served.nodeSet.id).toEqual(next.handover.to.id);
      expect(served.ancestors.map((a) => a.id)).toEqual([old.nodeSet.id]);
      expect(served.files).toEqual(files);
    }
  });

  it('refuses a node-set file the node never served', () => {
    expect(() =>
      servedLineage(suite, configured(other.nodeSet, other.nodeSetFile), { files, retired: false }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it('a stored lineage that does not chain is a corrupt store, not a set to serve', () => {
    const broken = [files[0] ?? new Uint8Array(), encoder.encode(other.nodeSetFile)];
    expect(() => servedLineage(suite, configured(), { files: broken, retired: false })).toThrow(
      expect.objectContaining({ code: ErrorCode.STORE_CORRUPT }),
    );
  });
});
