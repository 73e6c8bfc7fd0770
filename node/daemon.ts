// Long file: the composition root wires every subsystem in start order; splitting it would hide that order.
// The node's composition root (DESIGN.md "The daemon"; Lodestar's pattern):
// builds keystore -> store -> replay guard -> metrics -> audit log ->
// revocations -> libp2p -> services, admission and the health monitor ->
// every method of protocol/methods.ts -> revocation sync -> HTTP in
// dependency order, and closes them in reverse, once. One root
// AbortController stops every wait and timer. It only composes: each part
// lives in its own file with a typed deps bag.
import { join } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  ErrorCode,
  QkmsError,
  requireNativeSuite,
  type CryptoSuite,
  type NodeSet,
} from '../protocol/internal.ts';
import { Admission, tokenRate } from './admission.ts';
import { HealthMonitor } from './health-monitor.ts';
import { loadNodeSet, selfEntry } from './identity.ts';
import { NodeRetiredError, readNodeSetFile, servedLineage } from './lineage.ts';
import { startHttp, type HttpServer } from './http.ts';
import { loadKeystore, type Keystore } from './keystore.ts';
import { createFingerprinter, createLogger, deriveFingerprintKey, type Logger } from './log.ts';
import { createNodeMetrics, observeRequest, type NodeMetrics } from './metrics.ts';
import { createNodeHost, registerMethods, type MethodHandlers } from './network/index.ts';
import { loadOrCreateWebRtcCertificate } from './network/webrtc-cert.ts';
import { readWsTls } from './network/ws-tls.ts';
import type { NodeOptions } from './options.ts';
import { AuditLog } from './audit/log.ts';
import { decodeAuditRecord } from './audit/record.ts';
import { AuditWitness } from './audit/witness.ts';
import { AUDIT_WITNESS_FILE } from './audit/witness-file.ts';
import { readinessChecks } from './readiness.ts';
import { chainSettings } from './policy/settings.ts';
import { PolicyGate } from './policy/gate.ts';
import { createPolicyMetrics } from './policy/metrics.ts';
import { ReplayGuard, replayGuardLimits } from './replay-guard.ts';
import { RevocationService } from './revocation/service.ts';
import { RevocationSync, type FreshnessState } from './revocation/sync.ts';
import { DelegationCache } from './service/delegation-cache.ts';
import { CutoverService } from './service/cutover.ts';
import { handleInfo } from './service/info.ts';
import { PublishService } from './service/publish.ts';
import { RecoverService } from './service/recover.ts';
import { ReshareService } from './service/reshare.ts';
import { type ServiceDeps, type TestFaults } from './service/types.ts';
import { NodeStore } from './store/index.ts';

/** Database folder inside the node's data dir. */
export const DB_DIR = 'db';
/** The store's integrity mark and loss report, outside the database (decision 0008). */
export const DB_INTEGRITY_DIR = 'db-integrity';

export interface DaemonDeps {
  readonly suite?: CryptoSuite;
  readonly clock?: () => number;
  /** A monotonic clock in ms (performance.now unless injected): the replay guard's second clock. */
  readonly monotonic?: () => number;
  readonly log?: Logger;
  readonly passphrase?: string | undefined;
  /** Test-only hooks beyond the option flags (e.g. holding a request before sealing). */
  readonly faults?: Pick<TestFaults, 'beforeSeal' | 'afterCustodyRecord' | 'auditFailing'> & {
    /** Refuse connections with these peers both ways (a partition); needs test faults enabled. */
    readonly blocked?: (peerId: string) => boolean;
  };
}

export interface Daemon {
  readonly peerId: string;
  readonly index: number;
  readonly nodeSet: NodeSet;
  readonly listen: readonly string[];
  readonly http: { readonly host: string; readonly port: number };
  readonly metrics: NodeMetrics;
  readonly previousShutdownClean: boolean;
  readonly revocations: {
    /** Records in the live set. */
    readonly size: () => number;
    /** Whether this node synced with a majority of the node set within the bound. */
    readonly fresh: () => boolean;
    /** Fresh, not yet synced with a majority since start, or stale. */
    readonly state: () => FreshnessState;
    /** Runs one anti-entropy round with every peer now. */
    readonly syncNow: () => Promise<void>;
  };
  /**
   * Resolves once the node took a cutover (decision 0017): its owner closes
   * it and starts it again, and the new start serves the successor (or, for
   * a retired node, wipes its shares and throws NodeRetiredError).
   */
  readonly cutover: Promise<undefined>;
  /** Closes every connection with this peer (with a `blocked` fault: completes a partition). */
  disconnect(peerId: string): Promise<void>;
  /** Stops everything in reverse order; idempotent. */
  close(): Promise<void>;
}

export async function startDaemon(options: NodeOptions, deps: DaemonDeps = {}): Promise<Daemon> {
  const suite = deps.suite ?? requireNativeSuite();
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? createLogger({ level: options.logLevel });
  const root = new AbortController();
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const cutoverTaken = Promise.withResolvers<undefined>();
  const closeAll = async (): Promise<void> => {
    root.abort();
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (e) {
        log.error('close failed', { part: name, error: e instanceof Error ? e.name : typeof e });
      }
    }
  };

  try {
    // keystore
    const keystore: Keystore = loadKeystore(options.dir, { suite, passphrase: deps.passphrase });
    closers.push({
      name: 'keystore',
      close: () => {
        keystore.wipe();
      },
    });
    const configuredFile = readNodeSetFile(options.nodeSetFile);
    const configured = loadNodeSet(suite, options.nodeSetFile);
    const fingerprint = createFingerprinter(deriveFingerprintKey(suite, keystore.storageKey));

    // store, then the set it says this node serves (decision 0017), replay guard
    const store = await NodeStore.open({
      path: join(options.dir, DB_DIR),
      integrityDir: join(options.dir, DB_INTEGRITY_DIR),
      storageKey: keystore.storageKey,
      suite,
      clock,
      log,
    });
    closers.push({ name: 'store', close: () => store.close() });
    const served = servedLineage(
      suite,
      { nodeSet: configured, file: configuredFile, path: options.nodeSetFile },
      await store.getLineage(),
    );
    const { nodeSet } = served;
    // A retired node logs as the node it was in the last set it served.
    const self = selfEntry(
      served.retired ? (served.ancestors.at(-1) ?? nodeSet) : nodeSet,
      keystore.publicInfo,
      options.nodeSetFile,
    );
    const nodeLog = log.child({ node: self.index });
    if (!store.previousShutdownClean) {
      nodeLog.warn(
        'previous run did not shut down cleanly: refusing requests issued before now',
        {},
      );
    }
    const nonces = await ReplayGuard.load({
      store,
      clock,
      ...(deps.monotonic === undefined ? {} : { monotonic: deps.monotonic }),
      ...replayGuardLimits(nodeSet.params, {
        perWallet: tokenRate(options.admission.perWalletRate),
        perSource: tokenRate(options.admission.perIpRate),
      }),
      sweepIntervalMs: options.store.replaySweepIntervalMs,
      onSweepError: () => {
        nodeLog.error('replay sweep failed', {});
      },
    });
    nonces.start();
    closers.push({ name: 'replay-guard', close: () => nonces.stop() });
    if (nonces.clockBehindMs() > 0) {
      nodeLog.warn('clock is behind the replay guard mark: refusing recovers until it catches up', {
        behindMs: nonces.clockBehindMs(),
      });
    }

    // metrics
    const metrics = createNodeMetrics();
    metrics.sharesStored.set(await store.countContent());

    // audit log: custody records, durable before the decision they record takes effect
    const identity = suite.ed25519.signer(keystore.identitySeed);
    const auditFailing = options.test.enabled ? deps.faults?.auditFailing : undefined;
    const audit = await AuditLog.open({
      suite,
      store,
      signer: identity,
      clock,
      fingerprint,
      metrics,
      log: nodeLog,
      ...(auditFailing === undefined ? {} : { failing: auditFailing }),
    });
    closers.push({ name: 'audit', close: () => audit.drain() });
    // What peers witnessed of this log, and of theirs (decision 0010).
    const witness = await AuditWitness.open({
      suite,
      nodeSet,
      selfIndex: self.index,
      signer: identity,
      head: () => audit.head,
      hashAt: async (seq) => {
        for await (const entry of store.auditEntries(seq, { limit: 1 })) {
          if (entry.seq !== seq) return undefined;
          if ('corrupt' in entry) throw new QkmsError(ErrorCode.STORE_CORRUPT, entry.corrupt);
          return decodeAuditRecord(entry.value).hash;
        }
        return undefined;
      },
      path: join(options.dir, AUDIT_WITNESS_FILE),
      clock,
      log: nodeLog,
    });
    closers.push({ name: 'audit-witness', close: () => witness.close() });

    // cutover (decision 0017): a retired node wipes its shares and stops here; a
    // node that serves a successor makes its held shares the ones it serves.
    if (served.retired) {
      const wiped = await store.wipeShares();
      await audit.record({ kind: 'cutover-retired', nodeSetId: nodeSet.id, count: wiped });
      nodeLog.info('retired at a cutover: shares wiped', { records: wiped });
      throw new NodeRetiredError(nodeSet.id);
    }
    if (served.ancestors.length > 0) {
      const { promoted, dropped } = await store.promotePending(nodeSet.id);
      if (promoted + dropped > 0) {
        await audit.record({ kind: 'cutover-promoted', nodeSetId: nodeSet.id, count: promoted });
        nodeLog.info('cutover: handed-over shares now in force', { promoted, dropped });
      }
      metrics.sharesStored.set(await store.countContent());
    }

    // revocations: the live set, loaded before anything can ask for a share
    const revocations = await RevocationService.load({
      audit,
      suite,
      nodeSet,
      ancestors: served.ancestors,
      store,
      clock,
      metrics,
      log: nodeLog,
      fingerprint,
      refuseStale: options.revocation.refuseStale,
      auditHeads: witness,
    });

    // access policies on chain state: followers start polling now, so state is fresh by the first request
    const policy = new PolicyGate({
      chains: chainSettings(options.policy),
      keccak: suite.keccak256,
      log: nodeLog,
      clock,
      metrics: createPolicyMetrics(metrics.registry),
    });
    policy.start();
    closers.push({ name: 'policy', close: () => policy.stop() });

    // libp2p
    const blocked = options.test.enabled ? deps.faults?.blocked : undefined;
    const host = await createNodeHost(
      {
        identitySeed: keystore.identitySeed,
        nodeSet,
        listen: options.network.listen,
        maxConnections: options.network.maxConnections,
        maxConnectionsPerIp: options.network.maxConnectionsPerIp,
        ...(blocked === undefined ? {} : { blocked }),
        ...(options.network.wsTls === null ? {} : { wsTls: readWsTls(options.network.wsTls) }),
        ...(options.network.listen.some((a) => a.includes('/webrtc-direct'))
          ? { webrtcCertificate: await loadOrCreateWebRtcCertificate(options.dir) }
          : {}),
      },
      { log: nodeLog },
    );
    closers.push({ name: 'libp2p', close: () => host.close() });

    // services
    const admission = new Admission(options.admission, {
      metrics,
      clock,
      nodeSetPeers: new Set(nodeSet.nodes.map((n) => n.peerId)),
    });
    const faults: TestFaults = options.test.enabled
      ? {
          wrongShare: options.test.wrongShare,
          ...(options.test.delayMs > 0 ? { delayMs: options.test.delayMs } : {}),
          ...(deps.faults?.beforeSeal === undefined ? {} : { beforeSeal: deps.faults.beforeSeal }),
          ...(deps.faults?.afterCustodyRecord === undefined
            ? {}
            : { afterCustodyRecord: deps.faults.afterCustodyRecord }),
        }
      : {};
    const serviceDeps: ServiceDeps = {
      suite,
      nodeSet,
      lineage: [...served.ancestors.map((a) => a.id), nodeSet.id],
      self: {
        index: self.index,
        identity,
        kem: suite.xwing.decapsulator(keystore.kemSeed),
      },
      store,
      nonces,
      revocations,
      audit,
      policy,
      clock,
      epochStart: store.replayEpochStart,
      walletRate: (wallet) => admission.takeWallet(wallet),
      metrics,
      log: nodeLog,
      fingerprint,
      faults,
    };
    // One verdict cache for both: a delegation checked by recover is not checked again by publish.
    const delegations = new DelegationCache(suite, {
      onLookup: (outcome) => {
        metrics.delegationCache.inc({ outcome });
      },
    });
    const recover = new RecoverService(serviceDeps, delegations);
    const publish = new PublishService(serviceDeps, delegations);
    const cutover = new CutoverService({
      suite,
      nodeSet,
      files: served.files,
      identity,
      kem: serviceDeps.self.kem,
      store,
      audit,
      log: nodeLog,
      onCutover: () => {
        cutoverTaken.resolve(undefined);
      },
    });
    const reshare = new ReshareService({
      suite,
      nodeSet,
      identity,
      kem: serviceDeps.self.kem,
      store,
      audit,
      clock,
      log: nodeLog,
      faults,
    });
    const sync = new RevocationSync(
      {
        libp2p: host.libp2p,
        nodeSet,
        selfIndex: self.index,
        live: revocations.live,
        clock,
        metrics,
        log: nodeLog,
        signal: root.signal,
        audit: witness,
      },
      options.revocation,
    );

    // The operator's view (qkms node status) and the threshold monitor.
    const monitor = new HealthMonitor({
      libp2p: host.libp2p,
      nodeSet,
      selfIndex: self.index,
      metrics,
      revocations: () => revocations.live.size,
      revocationLagMs: () => sync.lagMs(),
      auditHead: () => audit.head.seq,
    });
    monitor.start(root.signal);

    // Every method of protocol/methods.ts, client-facing ones behind admission control.
    const admit = admission.admit.bind(admission);
    const handlers: MethodHandlers = {
      recover: admit((f, ctx) => {
        // Fail closed while this log lacks a head a peer witnessed (decision 0010).
        witness.assertNotRolledBack();
        // The replay guard partitions by address block, not PeerId, which costs nothing to make (decision 0006).
        return recover.handle(f, ctx.remoteBlock);
      }),
      publish: admit((f) => publish.handle(f)),
      info: admit((f) =>
        handleInfo(
          {
            ...serviceDeps,
            health: () => monitor.health(),
            witnessedOf: (i) => witness.witnessedOf(i),
          },
          f,
        ),
      ),
      revoke: admit((f) => revocations.handleRevoke(f)),
      // An admin's coordinator: every request carries its ticket, checked before any work.
      reshare: admit((f) => reshare.handle(f, cutover)),
      // Node-to-node: no rate limit (peers are the node set, admitted by PeerId), bounded by streams.
      revsync: (f, ctx) => revocations.handleRevsyncFrom(f, ctx.remotePeer),
    };
    await registerMethods(
      host,
      handlers,
      {
        readDeadlineMs: options.network.readDeadlineMs,
        maxStreamsPerProtocol: options.network.maxStreamsPerProtocol,
      },
      {
        log: nodeLog,
        onRequest: (protocol, outcome, seconds) => {
          observeRequest(metrics, protocol, outcome, seconds);
        },
        signal: root.signal,
      },
    );
    revocations.attach(sync);
    await sync.start();
    revocations.fresh(); // sets the freshness gauge from the start
    closers.push({ name: 'revocation-sync', close: () => sync.stop() });

    // HTTP: metrics and health, last up, first down.
    const http: HttpServer = await startHttp(options.http.address, {
      registry: metrics.registry,
      checks: readinessChecks({
        store,
        libp2p: host.libp2p,
        nonces,
        revocations,
        audit,
        witness,
        policy,
      }),
    });
    closers.push({ name: 'http', close: () => http.close() });

    const listen = host.libp2p.getMultiaddrs().map((a) => a.toString());
    nodeLog.info('node ready', {
      peer: keystore.publicInfo.peerId.slice(0, 16),
      index: self.index,
      http: `${http.address.host}:${http.address.port}`,
    });
    let closing: Promise<void> | undefined;
    return {
      peerId: keystore.publicInfo.peerId,
      index: self.index,
      nodeSet,
      listen,
      http: http.address,
      metrics,
      previousShutdownClean: store.previousShutdownClean,
      cutover: cutoverTaken.promise,
      revocations: {
        size: () => revocations.live.size,
        fresh: () => revocations.fresh(),
        state: () => revocations.state(),
        syncNow: () => sync.syncNow(),
      },
      disconnect: async (peerId) => {
        await host.libp2p.hangUp(peerIdFromString(peerId));
      },
      close: () =>
        (closing ??= closeAll().then(() => {
          nodeLog.info('node stopped', {});
        })),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
