// A publisher and a player runtime against a running quorum, through the
// client library. Start a local quorum first (`npm start`), then:
//   node examples/publish-and-recover.ts [.qkms/quorum.json]
// (on a machine whose own Node is older than 24, run it as `npx node …`).
import { readFileSync } from 'node:fs';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { QuorumClient, RecoverError, Session, walletFromViemAccount } from '../client/index.ts';
import { defaultSuite, parseSignedNodeSetJson, toHex } from '../protocol/index.ts';

const quorumFile = process.argv[2] ?? '.qkms/quorum.json';
const quorum = JSON.parse(readFileSync(quorumFile, 'utf8')) as { nodeSet: unknown };
const nodeSet = parseSignedNodeSetJson(defaultSuite(), JSON.stringify(quorum.nodeSet));

// Any EIP-191 signer works: a browser wallet through walletFromEip1193, or a viem/ox account.
const wallet = walletFromViemAccount(privateKeyToAccount(generatePrivateKey()));
const client = await QuorumClient.create({ nodeSet });
const session = await Session.create({
  wallet,
  nodeSet,
  capabilities: { actions: ['publish', 'recover'], content: 'all' },
  lifetimeMs: 10 * 60_000,
});

try {
  // Publisher: a fresh content key, split across the quorum; ship `manifest` with the content.
  const published = await client.publish(session, { policy: { kind: 'publisher-only' } });
  const stored = published.receipts.filter((r) => r.outcome === 'ok').length;
  console.log(
    `published content ${toHex(published.manifest.body.contentId).slice(0, 16)}… to ${stored} nodes`,
  );

  // Player: recover the key from any t nodes, verified against the manifest.
  const { cek, report } = await client.recover(published.manifest, session, {
    signal: AbortSignal.timeout(5_000),
  });
  const same = cek.length === published.cek.length && cek.every((b, i) => b === published.cek[i]);
  console.log(
    `recovered the content key (${same ? 'matches' : 'DOES NOT match'} what was published)`,
  );
  console.log(report.map((r) => `  node ${r.index}: ${r.outcome}`).join('\n'));
  cek.fill(0);
  published.cek.fill(0);
  if (!same) process.exitCode = 1;
} catch (e) {
  if (e instanceof RecoverError) console.error(`recover failed (${e.reason}):`, e.report);
  throw e;
} finally {
  session.destroy();
  await client.close();
}
