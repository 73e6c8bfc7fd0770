// `qkms admin cutover`'s refusals before any node is asked: the flags, a file
// that is not the quorum's successor, and admin keys short of the old set's
// threshold (a cutover wipes retired nodes' shares, so one admin is not enough).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNodeSetDocument,
  requireNativeSuite,
  serializeSignedNodeSet,
  signNodeSet,
} from '../../protocol/internal.ts';
import { runCli } from '../../test/support/cli.ts';
import { createQuorumFiles, type QuorumFiles } from '../../test/support/quorum.ts';

const suite = requireNativeSuite();
let files: QuorumFiles;
let nextPath: string;

beforeAll(async () => {
  files = await createQuorumFiles(3, 2, { admins: 2, adminThreshold: 2 });
  const old = files.nodeSet;
  const document = createNodeSetDocument({
    epoch: 2,
    predecessor: old.id,
    threshold: 2,
    nodes: old.nodes.map((n) => ({
      index: n.index,
      peerId: n.peerId,
      multiaddrs: n.multiaddrs,
      kemPublicKey: n.kemPublicKey,
    })),
    admins: old.admins,
    params: old.params,
  });
  const admins = files.adminSeeds.map((secretKey, index) => ({ index, secretKey }));
  const text = serializeSignedNodeSet(
    document,
    admins.map((a) => signNodeSet(suite, document, a)),
    admins.map((a) => signNodeSet(suite, document, a, { predecessor: old })),
  );
  nextPath = join(files.root, 'next.json');
  writeFileSync(nextPath, text);
});

afterAll(() => {
  files.cleanup();
});

const cutover = (...args: string[]) =>
  runCli(['admin', 'cutover', '--quorum', files.nodeSetPath, ...args], { cwd: files.root });

describe('qkms admin cutover refuses before asking any node', () => {
  it('without --to or --admin-key: usage (2)', async () => {
    expect((await cutover('--admin-key', files.adminKeyFiles[0] ?? '')).code).toBe(2);
    expect((await cutover('--to', nextPath)).code).toBe(2);
  });

  it('with one admin key of a 2-of-2 set: config (3), naming the threshold', async () => {
    const r = await cutover('--to', nextPath, '--admin-key', files.adminKeyFiles[0] ?? '');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('1 distinct admin keys; the cutover needs 2');
  });

  it('with the quorum’s own set as --to: not a successor, config (3)', async () => {
    const r = await cutover(
      '--to',
      files.nodeSetPath,
      ...files.adminKeyFiles.flatMap((k) => ['--admin-key', k]),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('not a successor of the quorum');
  });
});
