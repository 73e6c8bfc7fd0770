// The node's Prometheus metrics: one registry per node (several nodes can run
// in one test process), names qkms_<subsystem>_<what>_<unit>, counters end in
// _total, durations are _seconds histograms, and every label value comes from
// a closed union — the `protocol` label from the method table
// (protocol/methods.ts) — except qkms_build_info's, which are this build's.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  METHOD_NAMES,
  REJECTIONS,
  methodOfProtocol,
  type Method,
  type RejectionCode,
} from '../protocol/internal.ts';
import type { RequestOutcome } from './network/index.ts';
import { packageRoot } from './package-root.ts';

/** The `protocol` label: a method of the table (`channel` for a channel frame refused before its kind is known). */
export const PROTOCOLS = METHOD_NAMES;
export type ProtocolName = Method;

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
  'reshare-dealt',
  'reshare-committed',
  'reshare-held',
  'cutover',
  'cutover-promoted',
  'cutover-retired',
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

/** What qkms_build_info labels: the package version and the git commit it was built from. */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
}

/** Hex digits of a commit id the label keeps (git's own short ids are 7 to 12). */
const COMMIT_LABEL_CHARS = 12;
/** A full object id: SHA-1 (40 hex) or SHA-256 (64 hex). */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Symbolic refs followed before giving up (HEAD -> branch is one). */
const MAX_REF_HOPS = 4;
/** The repository (or installed package) root: package.json and .git sit here. */
const PACKAGE_ROOT = packageRoot(import.meta.url);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The git directory of `root`: `.git`, or where a worktree's `.git` file points. */
function gitDirOf(root: string): string | undefined {
  const dotGit = join(root, '.git');
  const pointer = readText(dotGit); // a file only in a worktree or submodule
  if (pointer === undefined)
    return readText(join(dotGit, 'HEAD')) === undefined ? undefined : dotGit;
  const target = /^gitdir: (.+)$/m.exec(pointer)?.[1]?.trim();
  if (target === undefined) return undefined;
  return isAbsolute(target) ? target : join(root, target);
}

/** A ref's object id, loose or packed, in `dirs` (a worktree's own dir, then the common one). */
function resolveRef(dirs: readonly string[], ref: string): string | undefined {
  for (const dir of dirs) {
    const loose = readText(join(dir, ref))?.trim();
    if (loose !== undefined) return loose;
  }
  for (const dir of dirs) {
    for (const line of (readText(join(dir, 'packed-refs')) ?? '').split('\n')) {
      const [id, name] = line.trim().split(' ');
      if (name === ref && id !== undefined) return id;
    }
  }
  return undefined;
}

/**
 * The commit `root` is checked out at, shortened to 12 hex digits, read from
 * the files of its git directory (no `git` process: a node's cold start
 * matters): HEAD, a `ref:` followed to its loose file or to packed-refs.
 * `unknown` without a git directory (an installed package) or when anything
 * in it is not what git writes.
 */
export function readGitCommit(root: string = PACKAGE_ROOT): string {
  const gitDir = gitDirOf(root);
  if (gitDir === undefined) return 'unknown';
  const common = readText(join(gitDir, 'commondir'))?.trim();
  const dirs = common === undefined ? [gitDir] : [gitDir, join(gitDir, common)];
  let value = readText(join(gitDir, 'HEAD'))?.trim();
  for (let hop = 0; hop < MAX_REF_HOPS && value?.startsWith('ref: ') === true; hop++) {
    const ref = value.slice('ref: '.length).trim();
    // A ref names a file under refs/; anything else is not one git wrote.
    if (!ref.startsWith('refs/') || ref.split('/').includes('..')) return 'unknown';
    value = resolveRef(dirs, ref);
  }
  return value !== undefined && OBJECT_ID.test(value)
    ? value.slice(0, COMMIT_LABEL_CHARS)
    : 'unknown';
}

/** The package version from package.json next to `root`, and the commit; `unknown` for either unreadable. */
export function readBuildInfo(root: string = PACKAGE_ROOT): BuildInfo {
  let version = 'unknown';
  try {
    const pkg: unknown = JSON.parse(readText(join(root, 'package.json')) ?? 'null');
    if (
      typeof pkg === 'object' &&
      pkg !== null &&
      'version' in pkg &&
      typeof pkg.version === 'string'
    )
      version = pkg.version;
  } catch {
    // not JSON: unknown
  }
  return { version, commit: readGitCommit(root) };
}

/** Read once per process: the build does not change under a running node. */
let buildInfo: BuildInfo | undefined;

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
  readonly buildInfo: Gauge<'version' | 'commit'>;
  /** Times `fn` as `stage`. */
  time<T>(stage: Stage, fn: () => T): T;
  timeAsync<T>(stage: Stage, fn: () => Promise<T>): Promise<T>;
}

export interface NodeMetricsOptions {
  /** prom-client's process metrics (qkms_process_*); on by default. */
  readonly defaultMetrics?: boolean;
  /** This build's labels; read from package.json and .git by default. */
  readonly build?: BuildInfo;
}

export function createNodeMetrics(options: NodeMetricsOptions = {}): NodeMetrics {
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
  const build = new Gauge({
    name: 'qkms_build_info',
    help: 'Always 1; its labels name the qkms version and the git commit (12 hex digits, or unknown) this node runs.',
    labelNames: ['version', 'commit'] as const,
    registers: [registry],
  });
  const { version, commit } = options.build ?? (buildInfo ??= readBuildInfo());
  build.set({ version, commit }, 1);
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
    buildInfo: build,
    time,
    timeAsync,
  };
}

/**
 * The daemon's onRequest (node/network HandlerDeps): a request answered or
 * rejected counts under its method and result, and every one is timed. A
 * protocol outside the method table has no label, so it is not observed.
 */
export function observeRequest(
  metrics: Pick<NodeMetrics, 'requests' | 'requestDuration'>,
  protocol: string,
  outcome: RequestOutcome,
  seconds: number,
): void {
  const method = methodOfProtocol(protocol);
  if (method === undefined) return;
  if (outcome !== 'refused' && outcome !== 'aborted')
    metrics.requests.inc({ protocol: method, result: outcome });
  metrics.requestDuration.observe({ protocol: method }, seconds);
}
