import { request } from 'node:http';
import { Agent } from 'node:http';
import { createQuorumFiles, spawnNode, type NodeProcess } from '../../support/quorum.ts';
import { QuorumClient } from '../../../client/index.ts';
import { signRevocation } from '../../../revocation/index.ts';
import { requireNativeSuite } from '../../../protocol/index.ts';

const suite = requireNativeSuite();
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function scrape(url: string): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(url, { agent }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => {
        const m = /^qkms_revocations (\S+)$/m.exec(body);
        res(Number(m?.[1] ?? NaN));
      });
    });
    req.on('error', rej);
    req.end();
  });
}
const t0 = performance.now();
const files = await createQuorumFiles(5, 3);
console.log('files', performance.now() - t0);
const nodes: NodeProcess[] = [];
try {
  const t1 = performance.now();
  nodes.push(...(await Promise.all([1, 2, 3, 4, 5].map((i) => spawnNode(files, i, { args: ['--revocation-sync-interval-ms', '1000'] })))));
  console.log('spawn', performance.now() - t1);
  const urls = nodes.map((n) => /metrics (\S+)/.exec(n.ready)?.[1] ?? '');
  console.log(urls);
  for (let k = 0; k < 5; k++) { const s = performance.now(); await scrape(urls[0]!); console.log('scrape ms', performance.now() - s); }
  const client = await QuorumClient.create({ nodeSet: files.nodeSet });
  const seed = files.adminSeeds[0]!;
  for (let r = 0; r < 10; r++) {
    const target = suite.randomBytes(32);
    const rec = signRevocation(suite, files.nodeSet, { nodeSetId: files.nodeSet.id, kind: 'session', target, issuedAt: Date.now(), reason: 'bench' }, [seed]);
    const s = performance.now();
    const result = await client.revoke(rec);
    const e = performance.now() - s;
    console.log(result.effectiveMs?.toFixed(2), e.toFixed(2), result.nodes.map((n) => `${n.status}:${n.ms?.toFixed(1)}`).join(' '));
  }
  for (const u of urls) console.log(await scrape(u));
  await client.close();
} finally {
  await Promise.all(nodes.map(async (n) => { n.child.kill('SIGTERM'); await n.exited; }));
  files.cleanup();
}
