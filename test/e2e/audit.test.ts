// The custody audit log and the operator's view, against real nodes: with the
// audit store failing no share leaves and service resumes after; a node
// killed with SIGKILL in a burst of recovers keeps a chain that verifies and
// a record for every share that left; /metrics counts exactly what was sent;
// `qkms node status` shows each node's peers, revocation lag, shares and
// audit head.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, RecoverError } from '../../client/index.ts';
import type { Daemon } from '../../node/daemon.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { runCli } from '../support/cli.ts';
import { playerSession, signedRecoverFrame } from '../support/in-process.ts';
import {
  ask,
  createClient,
  createQuorumFiles,
  spawnNode,
  startNode,
  type QuorumFiles,
} from '../support/quorum.ts';

const ROOMY = [
  '--per-ip-burst',
  '400',
  '--per-ip-rate',
  '400',
  '--per-peer-burst',
  '400',
  '--per-peer-rate',
  '400',
  '--per-wallet-burst',
  '400',
  '--per-wallet-rate',
  '400',
];
const FAULTS = { QKMS_ENABLE_TEST_FAULTS: '1' };

/** One sample of a metric from a node's /metrics text, by name and labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((l) => line.includes(l))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
}

async function metricsText(node: Daemon): Promise<string> {
  return (await fetch(`http://${node.http.host}:${node.http.port}/metrics`)).text();
}

describe('custody records against a 3-node quorum (t = 2)', () => {
  let files: QuorumFiles;
  const nodes: Daemon[] = [];
  let auditFailing = false;
  let client: QuorumClient;

  beforeAll(async () => {
    files = await createQuorumFiles(3, 2);
    for (let i = 1; i <= 3; i++)
      nodes.push(
        await startNode(files, i, {
          args: ROOMY,
          env: FAULTS,
          deps: { faults: { auditFailing: () => auditFailing } },
        }),
      );
    client = await QuorumClient.create({ nodeSet: files.nodeSet });
  });

  afterAll(async () => {
    await client.close();
    for (const node of nodes) await node.close();
    files.cleanup();
  });

  it('refuses every recover while the audit store fails, releasing nothing; resumes when it works', async () => {
    const publisher = await playerSession(files.nodeSet);
    const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
    const player = await playerSession(files.nodeSet);
    const failuresBefore = sample(await metricsText(nodes[0]!), 'qkms_audit_failures_total');

    auditFailing = true;
    let error: unknown;
    try {
      await client.recover(manifest, player);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecoverError);
    const report = (error as RecoverError).report;
    expect(report.every((r) => r.code === ErrorCode.AUDIT_UNAVAILABLE)).toBe(true);
    expect(report.filter((r) => r.outcome === 'ok')).toEqual([]);
    expect(sample(await metricsText(nodes[0]!), 'qkms_audit_failures_total')).toBeGreaterThan(
      failuresBefore,
    );

    auditFailing = false;
    const { cek } = await client.recover(manifest, player);
    expect(cek).toHaveLength(32);
    cek.fill(0);
    publisher.destroy();
    player.destroy();
  });

  it('counts in /metrics exactly what a scripted run of good and bad requests sent', async () => {
    const publisher = await playerSession(files.nodeSet);
    const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
    const player = await playerSession(files.nodeSet);
    const node = nodes[1]!; // node 2
    const before = await metricsText(node);
    const count = (text: string, name: string, labels: Record<string, string>) =>
      sample(text, name, labels);

    const libp2p = await createClient();
    try {
      const answers: string[] = [];
      const send = async (frame: Uint8Array): Promise<void> => {
        const a = await ask(libp2p, files, 2, 'recover', frame, 'share');
        answers.push(a.type === 'reject' ? a.code : a.type);
      };
      const replayed = await signedRecoverFrame(player, 2, manifest.body.contentId);
      await send(replayed);
      await send(await signedRecoverFrame(player, 2, manifest.body.contentId));
      await send(await signedRecoverFrame(player, 2, manifest.body.contentId));
      await send(replayed);
      await send(replayed);
      await send(await signedRecoverFrame(player, 2, new Uint8Array(32).fill(0xee)));
      await send(new Uint8Array([0xa1, 0x61, 0x76, 0x02])); // {"v": 2}: no type
      expect(answers).toEqual([
        'share',
        'share',
        'share',
        'REPLAYED',
        'REPLAYED',
        'UNKNOWN_CONTENT',
        'MALFORMED',
      ]);
    } finally {
      await libp2p.stop();
    }

    // A refusal's record is written after its answer: wait until the last one has landed.
    let after = await metricsText(node);
    for (let i = 0; i < 100; i++) {
      if (count(after, 'qkms_audit_head_seq', {}) - count(before, 'qkms_audit_head_seq', {}) >= 4)
        break;
      await new Promise((r) => setTimeout(r, 20));
      after = await metricsText(node);
    }
    const delta = (name: string, labels: Record<string, string> = {}) =>
      count(after, name, labels) - count(before, name, labels);
    expect(delta('qkms_requests_total', { protocol: 'recover', result: 'ok' })).toBe(3);
    expect(delta('qkms_requests_total', { protocol: 'recover', result: 'REPLAYED' })).toBe(2);
    expect(delta('qkms_requests_total', { protocol: 'recover', result: 'UNKNOWN_CONTENT' })).toBe(
      1,
    );
    expect(delta('qkms_requests_total', { protocol: 'recover', result: 'MALFORMED' })).toBe(1);
    expect(delta('qkms_replay_rejections_total')).toBe(2);
    expect(delta('qkms_audit_records_total', { kind: 'share-released' })).toBe(3);
    // Refusals are recorded once the delegation verified: not the malformed frame, and not
    // the replays, refused before any signature work (decision 0006).
    expect(delta('qkms_audit_records_total', { kind: 'recover-refused' })).toBe(1);
    expect(delta('qkms_audit_head_seq')).toBe(4);
    publisher.destroy();
    player.destroy();
  });

  it('qkms node status shows each node’s peers, revocation lag, shares and audit head', async () => {
    // A node started before its peers synced with nobody yet; one round now, instead of waiting 5 s.
    await Promise.all(nodes.map((n) => n.revocations.syncNow()));
    const run = await runCli(['node', 'status', '--quorum', files.nodeSetPath, '--json'], {
      cwd: files.root,
    });
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as {
      healthy: number;
      nodes: {
        index: number;
        health?: {
          peers: number[];
          revocationLagMs: number | null;
          shares: number;
          auditHead: number;
        };
      }[];
    };
    expect(status.healthy).toBe(3);
    for (const entry of status.nodes) {
      const node = nodes[entry.index - 1]!;
      expect(entry.health?.peers).toEqual([1, 2, 3].filter((i) => i !== entry.index));
      expect(entry.health?.shares).toBe(2);
      expect(entry.health?.revocationLagMs).not.toBeNull();
      expect(entry.health?.auditHead).toBe(sample(await metricsText(node), 'qkms_audit_head_seq'));
    }
    const human = await runCli(['node', 'status', '--quorum', files.nodeSetPath], {
      cwd: files.root,
    });
    expect(human.stdout).toMatch(
      /peers 2,3 {2}revocations 0 \(lag \d+ s\) {2}shares 2 {2}audit head \d+/,
    );
  });
});

describe('a node killed with SIGKILL during a burst of recovers', () => {
  it('keeps a chain that verifies, with a record for every share that left', async () => {
    const files = await createQuorumFiles(2, 2);
    const node1 = await spawnNode(files, 1, { args: ROOMY });
    const node2 = await startNode(files, 2, { args: ROOMY });
    const client = await QuorumClient.create({ nodeSet: files.nodeSet });
    const libp2p = await createClient();
    try {
      const publisher = await playerSession(files.nodeSet);
      const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
      const player = await playerSession(files.nodeSet);
      const frames = await Promise.all(
        Array.from({ length: 80 }, () => signedRecoverFrame(player, 1, manifest.body.contentId)),
      );
      let shares = 0;
      let killed = false;
      await Promise.allSettled(
        frames.map(async (frame) => {
          const answer = await ask(libp2p, files, 1, 'recover', frame, 'share');
          if (answer.type === 'share') shares += 1;
          if (shares >= 15 && !killed) {
            killed = true;
            node1.child.kill('SIGKILL');
          }
        }),
      );
      expect(killed).toBe(true);
      expect(await node1.exited).toBe('SIGKILL');
      expect(shares).toBeGreaterThanOrEqual(15);

      const verify = await runCli(['audit', 'verify', '--dir', files.dirs[0]!, '--json'], {
        cwd: files.root,
      });
      expect(verify.code).toBe(0);
      const report = JSON.parse(verify.stdout) as { ok: boolean; verified: number };
      expect(report.ok).toBe(true);

      const tail = await runCli(
        ['audit', 'tail', '--dir', files.dirs[0]!, '-n', '1000', '--json'],
        {
          cwd: files.root,
        },
      );
      expect(tail.code).toBe(0);
      const kinds = tail.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { kind: string }).kind);
      expect(kinds.length).toBe(report.verified);
      expect(kinds.filter((k) => k === 'share-released').length).toBeGreaterThanOrEqual(shares);
      publisher.destroy();
      player.destroy();
    } finally {
      await libp2p.stop();
      await client.close();
      await node2.close();
      if (!node1.child.killed) node1.child.kill('SIGKILL');
      files.cleanup();
    }
  });
});
