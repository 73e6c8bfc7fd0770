// A handover's throughput (decision 0016): `qkms admin reshare`'s coordinator moving N contents
// from 3-of-5 to 4-of-6, against the real node-side service and real LevelDB stores, with every
// node in this one process and thread. The figure is the whole quorum's CPU per content (all
// dealing, checking, combining, signing and syncing), so on separate machines, where the nodes work
// in parallel, a handover runs faster. N is QKMS_BENCH_RESHARE_CONTENTS (default 1,000).
import { runHandover } from '../../cli/reshare/coordinator.ts';
import { requireNativeSuite } from '../../protocol/internal.ts';
import { freshNodeKeys } from '../support/reshare-fixture.ts';
import { ReshareWorld, WORLD_TIME } from '../support/reshare-world.ts';
import type { BenchResult, Scenario, Study } from './harness.ts';

const NAME = 'reshare.contents_per_s';
const DEFAULT_CONTENTS = 1_000;

function contents(): number {
  const raw = process.env['QKMS_BENCH_RESHARE_CONTENTS'];
  const n = raw === undefined ? DEFAULT_CONTENTS : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error('QKMS_BENCH_RESHARE_CONTENTS: a positive integer');
  return n;
}

const reshareStudy: Study = {
  names: [NAME],
  run: async (context): Promise<BenchResult[]> => {
    const suite = requireNativeSuite();
    const n = contents();
    context.progress(`${NAME}: publishing ${n} contents to 5 in-process stores`);
    const world = await ReshareWorld.create(suite, n);
    try {
      const s = await world.successor([...world.old.nodes, freshNodeKeys(suite, 6)], 4);
      const started = performance.now();
      const report = await runHandover({
        suite,
        from: s.fromSide,
        to: s.toSide,
        ticket: world.ticket(s.handover.to),
        send: world.send,
        now: () => WORLD_TIME,
        onProgress: (p) => {
          if (p.held % 256 < 64) context.progress(`${NAME}: ${p.held} of ${p.total} held`);
        },
      });
      const ms = performance.now() - started;
      if (report.held !== n) throw new Error(`${NAME}: only ${report.held} of ${n} contents held`);
      context.progress(`${NAME}: ${n} contents in ${(ms / 1000).toFixed(1)} s`);
      return [{ name: NAME, impl: 'qkms', per_s: (n * 1000) / ms, samples: n }];
    } finally {
      await world.close();
    }
  },
};

export const reshareBenches: readonly Scenario[] = [reshareStudy];
