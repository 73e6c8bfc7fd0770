// The node's Prometheus metrics: one registry per node (several nodes can run
// in one test process), names qkms_<subsystem>_<what>_<unit>, counters end in
// _total, durations are _seconds histograms, and every label value comes from
// a closed union.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECTIONS, type RejectionCode } from '../protocol/index.ts';

export const PROTOCOLS = ['recover', 'publish', 'info', 'revoke', 'revsync', 'channel'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** 'ok' or the rejection code a request was answered with. */
export type RequestResult = 'ok' | RejectionCode;
export const REQUEST_RESULTS: readonly RequestResult[] = [
  'ok',
  ...(Object.keys(REJECTIONS) as RejectionCode[]),
];

export const STAGES = [
  'decode',
  'request_signature',
  'delegation',
  'store_read',
  'replay_commit',
  'audit',
  'audit_write',
  'seal',
  'store_write',
] as const;
export type Stage = (typeof STAGES)[number];

/** Kinds of custody record (node/audit/record.ts AUDIT_KINDS). */
export const AUDIT_KINDS = [
  'share-released',
  'recover-refused',
  'share-published',
  'revocation-accepted',
] as const;

/** Where a revocation record came from: an admin or anyone (/qkms/revoke), a peer's push, anti-entropy. */
export const REVOCATION_SOURCES = ['client', 'push', 'sync'] as const;
export const REVOCATION_RESULTS = ['stored', 'unchanged', 'invalid'] as const;

/** Propagation lag buckets: 10 ms to 1 hour (a node that was down catches up late). */
const LAG_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

/** Request latency buckets: 100 µs to 2.5 s (a recover is ~1 ms of CPU; past seconds is a stall). */
const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export interface NodeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'protocol' | 'result'>;
  readonly requestDuration: Histogram<'protocol'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly inflight: Gauge;
  readonly connections: Gauge;
  readonly replayRejections: Counter;
  readonly sharesStored: Gauge;
  readonly delegationCache: Counter<'outcome'>;
  readonly storeErrors: Counter<'kind'>;
  readonly revocations: Gauge;
  readonly revocationRecords: Counter<'source' | 'result'>;
  readonly revocationLag: Histogram;
  readonly revocationLastSync: Gauge<'peer'>;
  readonly revocationSyncs: Counter<'result'>;
  readonly revocationFresh: Gauge;
  readonly auditRecords: Counter<'kind'>;
  readonly auditFailures: Counter;
  readonly auditHead: Gauge;
  readonly quorumPeersReachable: Gauge;
  readonly quorumAtRisk: Gauge;
  /** Times `fn` as `stage`. */
  time<T>(stage: Stage, fn: () => T): T;
  timeAsync<T>(stage: Stage, fn: () => Promise<T>): Promise<T>;
}

export function createNodeMetrics(options: { defaultMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'qkms_process_' });
  const requests = new Counter({
    name: 'qkms_requests_total',
    help: 'Requests answered, by protocol and result (ok or the rejection code).',
    labelNames: ['protocol', 'result'] as const,
    registers: [registry],
  });
  // Every label combination exists from the start, so dashboards and alerts see zeros, not gaps.
  for (const protocol of PROTOCOLS)
    for (const result of REQUEST_RESULTS) requests.inc({ protocol, result }, 0);
  const requestDuration = new Histogram({
    name: 'qkms_request_duration_seconds',
    help: 'Time from the first byte of a request to its answer, by protocol.',
    labelNames: ['protocol'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: 'qkms_stage_duration_seconds',
    help: 'Time spent in each stage of request handling.',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'qkms_requests_inflight',
    help: 'Requests being handled now.',
    registers: [registry],
  });
  const connections = new Gauge({
    name: 'qkms_connections',
    help: 'Open libp2p connections.',
    registers: [registry],
  });
  const replayRejections = new Counter({
    name: 'qkms_replay_rejections_total',
    help: 'Requests refused because their (session key, nonce) was already used.',
    registers: [registry],
  });
  const sharesStored = new Gauge({
    name: 'qkms_shares_stored',
    help: 'Content shares this node holds.',
    registers: [registry],
  });
  const delegationCache = new Counter({
    name: 'qkms_delegation_cache_total',
    help: 'Delegation signature checks: remembered as good (hit), remembered as refused (refused), or computed with a wallet signature recovery (miss).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'qkms_store_errors_total',
    help: 'Storage failures: corrupt (a value failed authentication) or io.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const revocations = new Gauge({
    name: 'qkms_revocations',
    help: 'Revocation records in the live set.',
    registers: [registry],
  });
  const revocationRecords = new Counter({
    name: 'qkms_revocation_records_total',
    help: 'Revocation records received, by source (client, push, sync) and result (stored, unchanged, invalid).',
    labelNames: ['source', 'result'] as const,
    registers: [registry],
  });
  for (const source of REVOCATION_SOURCES)
    for (const result of REVOCATION_RESULTS) revocationRecords.inc({ source, result }, 0);
  const revocationLag = new Histogram({
    name: 'qkms_revocation_propagation_lag_seconds',
    help: "Time from a revocation's issuedAt to this node storing it (includes admin signing time).",
    buckets: LAG_BUCKETS_SECONDS,
    registers: [registry],
  });
  const revocationLastSync = new Gauge({
    name: 'qkms_revocation_last_sync_timestamp_seconds',
    help: 'When anti-entropy with each peer (by node index) last completed.',
    labelNames: ['peer'] as const,
    registers: [registry],
  });
  const revocationSyncs = new Counter({
    name: 'qkms_revocation_syncs_total',
    help: 'Anti-entropy exchanges this node started, by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  revocationSyncs.inc({ result: 'ok' }, 0);
  revocationSyncs.inc({ result: 'failed' }, 0);
  const revocationFresh = new Gauge({
    name: 'qkms_revocation_fresh',
    help: '1 while this node has synced with a majority of the node set within the freshness bound, else 0.',
    registers: [registry],
  });
  const auditRecords = new Counter({
    name: 'qkms_audit_records_total',
    help: 'Custody records written durably, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  for (const kind of AUDIT_KINDS) auditRecords.inc({ kind }, 0);
  const auditFailures = new Counter({
    name: 'qkms_audit_failures_total',
    help: 'Custody records that could not be written; each refused the decision it recorded.',
    registers: [registry],
  });
  const auditHead = new Gauge({
    name: 'qkms_audit_head_seq',
    help: 'Sequence number of the last durable audit record.',
    registers: [registry],
  });
  const quorumPeersReachable = new Gauge({
    name: 'qkms_quorum_peers_reachable',
    help: 'Node-set peers this node has a live connection to.',
    registers: [registry],
  });
  const quorumAtRisk = new Gauge({
    name: 'qkms_quorum_at_risk',
    help: 'Threshold monitor: 1 when this node plus the peers it reaches are at most t, so one more loss leaves fewer than t.',
    registers: [registry],
  });
  const time = <T>(stage: Stage, fn: () => T): T => {
    const end = stageDuration.startTimer({ stage });
    try {
      return fn();
    } finally {
      end();
    }
  };
  const timeAsync = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
    const end = stageDuration.startTimer({ stage });
    try {
      return await fn();
    } finally {
      end();
    }
  };
  return {
    registry,
    requests,
    requestDuration,
    stageDuration,
    inflight,
    connections,
    replayRejections,
    sharesStored,
    delegationCache,
    storeErrors,
    revocations,
    revocationRecords,
    revocationLag,
    revocationLastSync,
    revocationSyncs,
    revocationFresh,
    auditRecords,
    auditFailures,
    auditHead,
    quorumPeersReachable,
    quorumAtRisk,
    time,
    timeAsync,
  };
}
