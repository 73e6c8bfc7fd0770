// What /readyz checks (docs/operations.md, Health): the node can serve only
// while its store is open and writable with nothing acknowledged missing,
// libp2p listens, its clock has not gone back past the replay guard's mark,
// its revocations are fresh, its audit log is writable and no peer witnessed
// a head this log lacks, and every chain that access policies read is followed
// within the freshness bound. Each failing check names itself and, where it can,
// says why in a line for the operator (counts and indices only).
import type { Libp2p } from 'libp2p';
import type { AuditLog } from './audit/log.ts';
import type { AuditWitness } from './audit/witness.ts';
import type { ReadinessCheck } from './http.ts';
import type { PolicyGate } from './policy/gate.ts';
import type { ReplayGuard } from './replay-guard.ts';
import type { RevocationService } from './revocation/service.ts';
import type { NodeStore } from './store/index.ts';

export interface ReadinessDeps {
  readonly store: Pick<NodeStore, 'isOpen' | 'writeFence' | 'integrity'>;
  readonly libp2p: Pick<Libp2p, 'status' | 'getMultiaddrs'>;
  readonly nonces: Pick<ReplayGuard, 'clockBehindMs'>;
  readonly revocations: Pick<RevocationService, 'fresh' | 'reason'>;
  readonly audit: Pick<AuditLog, 'writable'>;
  readonly witness: Pick<AuditWitness, 'rollback' | 'reason'>;
  readonly policy: Pick<PolicyGate, 'fresh' | 'reason'>;
}

/** The node's readiness checks, in the order /readyz lists failures. */
export function readinessChecks(deps: ReadinessDeps): readonly ReadinessCheck[] {
  const { store, libp2p, nonces, revocations, audit, witness, policy } = deps;
  return [
    {
      name: 'store',
      ready: () => store.isOpen && store.writeFence === undefined,
      reason: () => {
        const fence = store.writeFence;
        return fence === undefined
          ? undefined
          : `writes fenced after a failed write (${fence.lastError}); reopen attempts ${fence.attempts}`;
      },
    },
    // Acknowledged data missing from the store: not ready until the operator acts.
    {
      name: 'integrity',
      ready: () => store.integrity === undefined,
      reason: () => store.integrity?.summary,
    },
    {
      name: 'libp2p',
      ready: () => libp2p.status === 'started' && libp2p.getMultiaddrs().length > 0,
    },
    // The clock went back past a time the replay guard has passed: recovers get NOT_READY.
    {
      name: 'clock',
      ready: () => nonces.clockBehindMs() === 0,
      reason: () =>
        `clock is ${String(nonces.clockBehindMs())} ms behind the replay guard's mark; serving resumes when it catches up`,
    },
    { name: 'revocations', ready: () => revocations.fresh(), reason: () => revocations.reason() },
    { name: 'audit', ready: () => audit.writable },
    {
      name: 'audit-witness',
      ready: () => witness.rollback() === undefined,
      reason: () => witness.reason(),
    },
    // A followed chain's state is past the freshness bound: its policies get POLICY_UNAVAILABLE.
    { name: 'chains', ready: () => policy.fresh(), reason: () => policy.reason() },
  ];
}
