// Issue 13, item 5: a wall-clock jump must not reopen the replay window. A
// real node process runs under libfaketime (Debian's `faketime` package), its
// wall clock steered through a timestamp file the test rewrites while it runs
// (FAKETIME_NO_CACHE: read on every call). The monotonic clock is left real
// (DONT_FAKE_MONOTONIC), as a real clock step leaves it: libuv's timers and
// performance.now run on it, and the replay guard uses it as its second clock.
//
// Reproduced before the fix: the node answered request R with a share, its
// clock jumped 10 minutes ahead for several sweeps (which forgot R's nonce),
// came back, and the same bytes of R got a second share. Likewise across a
// restart: a node started while its clock was ahead forgot R at load, and
// after a restart with the right clock, R got a second share.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Libp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNativeSuite } from '../../protocol/index.ts';
import {
  contentFixture,
  sessionFixture,
  type ContentFixture,
  type SessionFixture,
} from '../support/protocol-fixture.ts';
import { publishFrame, recoverFrame } from '../support/service-fixture.ts';
import {
  ask,
  createClient,
  createQuorumFiles,
  spawnNode,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** The shortest sweep period the node accepts (cli/node-options.ts). */
const SWEEP_INTERVAL_MS = 1_000;
/** How long the clock stays ahead: three sweep periods (no assertion rests on it). */
const JUMP_HOLD_MS = 3 * SWEEP_INTERVAL_MS;
/** The jump of the issue: 10 minutes, in libfaketime's relative-offset syntax (seconds). */
const AHEAD = '+600';
const RIGHT = '+0';
/** The test quorum's grant age and skew (test/support/quorum.ts): a nonce lives 150 s past issuedAt. */
const NONCE_LIFETIME_MS = 120_000 + 30_000;

let files: QuorumFiles;
let client: Libp2p;
let session: SessionFixture;
let content: ContentFixture;
let timeFile: string;

function setClock(offset: string): void {
  writeFileSync(timeFile, `${offset}\n`);
}

function start(): Promise<NodeProcess> {
  return spawnNode(files, 1, {
    env: {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: timeFile,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
    },
    args: ['--replay-sweep-interval-ms', String(SWEEP_INTERVAL_MS)],
  });
}

async function stop(node: NodeProcess): Promise<void> {
  node.child.kill('SIGTERM');
  expect(await node.exited).toBe(0);
}

/** A fresh request issued at `issuedAt` (ms, by the test's real clock unless shifted). */
function request(issuedAt: number): Uint8Array {
  return recoverFrame({ quorum: files, session, contentId: content.contentId, node: 1, issuedAt });
}

async function answer(frame: Uint8Array): Promise<string> {
  const reply = await ask(client, files, 1, 'recover', frame, 'share');
  return reply.type === 'reject' ? reply.code : 'share';
}

/** The checks /readyz reports failing (one node of three: `revocations` is never fresh here). */
async function failing(node: NodeProcess): Promise<string[]> {
  const url = /metrics (http:\/\/[^/]+)\/metrics/.exec(node.ready)?.[1];
  if (url === undefined) throw new Error(`no http address in the ready line: ${node.ready}`);
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { failing: string[] }).failing;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

beforeAll(async () => {
  if (!existsSync(LIBFAKETIME))
    throw new Error(`${LIBFAKETIME} is missing: install Debian's faketime package (.ci/run does)`);
  files = await createQuorumFiles(3, 2);
  timeFile = join(files.root, 'faketime');
  setClock(RIGHT);
  client = await createClient();
  session = await sessionFixture(suite, files.nodeSet, { issuedAt: Date.now() - 1000 });
  content = contentFixture(suite, files.nodeSet, session, { kind: 'open' });
});

afterAll(async () => {
  await client.stop();
  files.cleanup();
});

describe('a wall-clock jump does not reopen the replay window (libfaketime)', () => {
  it('answers R, jumps 10 minutes ahead for many sweeps and back: the same bytes of R are REPLAYED, and the clock check stays ready', async () => {
    setClock(RIGHT);
    const node = await start();
    try {
      const publish = await publishFrame(files, content.manifest, content.shares[0]!, 1);
      expect((await ask(client, files, 1, 'publish', publish, 'receipt')).type).toBe('receipt');
      const r = request(Date.now());
      expect(await answer(r)).toBe('share');

      setClock(AHEAD);
      // The node reads the jumped clock: a request issued now is 10 minutes old to it.
      expect(await answer(request(Date.now()))).toBe('REQUEST_EXPIRED');
      await pause(JUMP_HOLD_MS); // many sweeps run while the clock is ahead
      expect(await answer(request(Date.now()))).toBe('REQUEST_EXPIRED');

      setClock(RIGHT);
      expect(await answer(request(Date.now()))).toBe('share'); // the clock is back
      expect(await answer(r)).toBe('REPLAYED');
      expect(await failing(node)).not.toContain('clock');
    } finally {
      await stop(node);
    }
  }, 60_000);

  it('forgets R at a start with the clock ahead, then after a restart with the right clock refuses everything (NOT_READY, /readyz `clock`) until the clock passes the mark', async () => {
    setClock(RIGHT);
    let node = await start();
    let r: Uint8Array;
    try {
      const publish = await publishFrame(files, content.manifest, content.shares[0]!, 1);
      expect((await ask(client, files, 1, 'publish', publish, 'receipt')).type).toBe('receipt');
      r = request(Date.now());
      expect(await answer(r)).toBe('share');
    } finally {
      await stop(node);
    }

    // Started while the clock is 10 minutes ahead: R's record is past its expiry by that clock.
    setClock(AHEAD);
    node = await start();
    try {
      expect(await answer(request(Date.now()))).toBe('REQUEST_EXPIRED');
      await pause(JUMP_HOLD_MS);
    } finally {
      await stop(node);
    }

    // Restarted with the right clock: R is inside its freshness window again.
    setClock(RIGHT);
    node = await start();
    try {
      expect(await answer(r)).toBe('NOT_READY');
      expect(await answer(request(Date.now()))).toBe('NOT_READY');
      expect(await failing(node)).toContain('clock');

      // Once the clock passes the mark (R's expiry), the node serves again and R is too old.
      setClock(`+${String(Math.ceil(NONCE_LIFETIME_MS / 1000) + 5)}`);
      expect(await failing(node)).not.toContain('clock');
      expect(await answer(r)).toBe('REQUEST_EXPIRED');
      expect(await answer(request(Date.now() + NONCE_LIFETIME_MS + 5_000))).toBe('share');
    } finally {
      await stop(node);
    }
  }, 60_000);
});
