// recover.floor: the CPU time one recover cannot do without — the cryptography it runs, priced
// by this run's micro benchmarks — and the recovers per second that bounds on this machine.
// Only cryptography counts: libp2p, Noise, yamux, CBOR, LevelDB and the event loop come on top
// (the throughput study measures what the whole stack costs, cpu_ms of its levels).
//
// One recover, with t + hedge nodes asked (client/recover.ts, node/service/recover.ts; the
// recover study prices hedge 0, since delayed hedging asks the extra node only when one is late):
//   client: t + hedge request signatures (Ed25519), t HPKE opens (X-Wing decapsulation
//           inside), one Shamir combine, t share commitments and the CEK commitment (SHA-256);
//   each node asked: the request signature verified (Ed25519), the share sealed (HPKE, X-Wing
//           encapsulation inside, to the session's key it has seen before), the custody
//           record signed (Ed25519), the delegation and audit-record hashes (SHA-256).
// A hedged node's work is counted in full: it has usually answered before it is cancelled.
// Not counted: the AES-GCM of the node's stored records (a few µs), the delegation's
// secp256k1 check (cached per delegation), the manifest's (cached per manifest).
import { hashBenches } from './hash.bench.ts';
import { measure, type Bench, type BenchResult, type StudyContext } from './harness.ts';
import { shamirBenches } from './shamir.bench.ts';
import { signatureBenches } from './signature.bench.ts';
import { xwingBenches } from './xwing.bench.ts';

/** A micro benchmark the floor prices, by name and impl. */
interface Price {
  readonly name: string;
  readonly impl: string;
}

const PRICES = {
  sign: { name: 'ed25519.sign', impl: 'qkms-native' },
  verify: { name: 'ed25519.verify', impl: 'qkms-native' },
  open: { name: 'hpke.open', impl: 'qkms-native' },
  seal: { name: 'hpke.seal', impl: 'qkms-native-same-key' },
  combine: { name: 'shamir.combine_3of5', impl: 'qkms' },
  sha256: { name: 'sha256', impl: 'qkms-native' },
} as const satisfies Record<string, Price>;

type Primitive = keyof typeof PRICES;

/** SHA-256 runs per recover on the client (t share commitments + 1 CEK commitment) is t + 1. */
const NODE_HASHES = 2;

const ALL_BENCHES: readonly Bench[] = [
  ...xwingBenches,
  ...signatureBenches,
  ...shamirBenches,
  ...hashBenches,
];

export interface Floor {
  /** µs per primitive, as priced. */
  readonly us: Readonly<Record<Primitive, number>>;
  /** CPU ms per recover: client part, one asked node's part, and all together. */
  readonly clientMs: number;
  readonly nodeMs: number;
  readonly totalMs: number;
  /** Nodes asked (t + hedge). */
  readonly asked: number;
  /** cores x 1000 / totalMs. */
  readonly boundPerS: number;
  /** The micro benchmarks this run had not measured and the floor measured itself. */
  readonly measuredHere: readonly string[];
}

/** Prices a recover from the run's results, measuring any primitive the run did not (--filter). */
export async function recoverFloor(
  context: StudyContext,
  threshold: number,
  hedge: number,
  cores: number,
): Promise<Floor> {
  const measuredHere: string[] = [];
  const us = {} as Record<Primitive, number>;
  for (const [primitive, price] of Object.entries(PRICES) as [Primitive, Price][]) {
    let found = context.results.find(
      (r) => r.name === price.name && r.impl === price.impl,
    )?.median_us;
    if (found === undefined) {
      const bench = ALL_BENCHES.find((b) => b.name === price.name && b.impl === price.impl);
      if (bench === undefined) throw new Error(`bench: no ${price.name} ${price.impl} scenario`);
      found = (await measure(bench)).result.median_us ?? 0;
      measuredHere.push(`${price.name} ${price.impl}`);
    }
    us[primitive] = found;
  }
  const asked = threshold + hedge;
  const clientUs = asked * us.sign + threshold * us.open + us.combine + (threshold + 1) * us.sha256;
  const nodeUs = us.verify + us.seal + us.sign + NODE_HASHES * us.sha256;
  const totalMs = (clientUs + asked * nodeUs) / 1000;
  return {
    us,
    clientMs: clientUs / 1000,
    nodeMs: nodeUs / 1000,
    totalMs,
    asked,
    boundPerS: (cores * 1000) / totalMs,
    measuredHere,
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The recover.floor rows: the crypto floor, and the stack's measured CPU per recover against it. */
export function floorRows(
  floor: Floor,
  best: {
    readonly perS: number;
    readonly cpuMs: number;
    readonly clientCpuMs: number;
    /** Nodes asked per recover at that level (floor.asked if not measured). */
    readonly nodesAsked?: number;
  },
  cores: number,
): BenchResult[] {
  return [
    {
      name: 'recover.floor',
      impl: 'crypto',
      cpu_ms: round(floor.totalMs, 3),
      client_cpu_ms: round(floor.clientMs, 3),
      node_cpu_ms: round(floor.nodeMs, 3),
      bound_per_s: round(floor.boundPerS, 1),
      per_s: round(best.perS, 1),
      of_floor: round(best.perS / floor.boundPerS, 3),
    },
    {
      name: 'recover.floor',
      impl: 'measured',
      cpu_ms: round(best.cpuMs, 3),
      client_cpu_ms: round(best.clientCpuMs, 3),
      node_cpu_ms: round((best.cpuMs - best.clientCpuMs) / (best.nodesAsked ?? floor.asked), 3),
      bound_per_s: round((cores * 1000) / best.cpuMs, 1),
      per_s: round(best.perS, 1),
      vs_floor: round(best.cpuMs / floor.totalMs, 2),
    },
  ];
}
