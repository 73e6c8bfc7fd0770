import { request, Agent } from 'node:http';
import { createQuorumFiles, spawnNode, type NodeProcess } from '../../support/quorum.ts';
import { QuorumClient } from '../../../client/index.ts';
import { signRevocation } from '../../../revocation/index.ts';
import { requireNativeSuite } from '../../../protocol/index.ts';

const suite = requireNativeSuite();
function scrape(url: string, agent: Agent): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(url, { agent }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res(Number(/^qkms_revocations (\S+)$/m.exec(body)?.[1] ?? NaN)));
    });
    req.on('error', rej);
    req.end();
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const files = await createQuorumFiles(5, 3);
const nodes: NodeProcess[] = [];
const stored: number[][] = [[], [], [], [], []];
const lines: string[] = [];
try {
  nodes.push(...(await Promise.all([1, 2, 3, 4, 5].map((i) => spawnNode(files, i, { args: ['--revocation-sync-interval-ms', '1000'], env: { QKMS_LOG_LEVEL: 'info' } })))));
  nodes.forEach((n, i) => {
    let buf = '';
    n.child.stderr!.on('data', (c: Buffer) => {
      const now = performance.now();
      buf += c.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, nl); buf = buf.slice(nl + 1); if (lines.length < 40) lines.push(line); if (line.includes('"revocation stored"')) stored[i]!.push(now); }
    });
  });
  const urls = nodes.map((n) => /metrics (\S+)/.exec(n.ready)?.[1] ?? '');
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  for (let k = 0; k < 20; k++) { for (let i = 0; i < 5; i++) await scrape(urls[i]!, agents[i]!); }
  const s0 = performance.now(); for (let k = 0; k < 20; k++) await scrape(urls[0]!, agents[0]!); console.log('scrape ms', (performance.now() - s0) / 20);
  const client = await QuorumClient.create({ nodeSet: files.nodeSet });
  const seed = files.adminSeeds[0]!;
  let count = 0;
  for (let r = 0; r < 30; r++) {
    const poll = r % 2 === 1;
    const rec = signRevocation(suite, files.nodeSet, { nodeSetId: files.nodeSet.id, kind: 'session', target: suite.randomBytes(32), issuedAt: Date.now(), reason: 'bench' }, [seed]);
    count += 1;
    const s = performance.now();
    const seen: number[] = [];
    const polls = poll ? urls.map(async (u, i) => { for (;;) { const c = await scrape(u, agents[i]!); if (c >= count) { seen[i] = performance.now() - s; return; } await sleep(2); } }) : [];
    const result = await client.revoke(rec);
    const e = performance.now() - s;
    await Promise.all(polls);
    await sleep(100);
    const logT = stored.map((a) => (a.at(-1)! - s).toFixed(1));
    console.log(poll ? 'POLL' : 'idle', result.effectiveMs?.toFixed(1), e.toFixed(1), 'acks', result.nodes.map((n) => `${n.status[0]}${n.ms?.toFixed(0)}`).join(' '), 'log', logT.join(' '), poll ? 'poll ' + seen.map((x) => x.toFixed(0)).join(' ') : '');
    await sleep(50);
  }
  await client.close();
  console.log(lines.slice(0, 12).join('\n'));
} finally {
  await Promise.all(nodes.map(async (n) => { n.child.kill('SIGTERM'); await n.exited; }));
  files.cleanup();
}
