// A player in a real browser (issue 15): Debian's Chromium, headless, loads
// the client's browser bundle from a page on 127.0.0.1 and recovers content
// keys from a quorum of 5 node processes (t = 3) over WebSockets, and again
// over WebRTC-direct, with a
// session its EIP-1193 wallet (window.ethereum, key held by this process)
// delegated to. One quorum and one page, in order: a session from the
// wallet; a CEK a Node publisher shared to that wallet; the same with two
// nodes killed; failing closed with three killed; refused once an admin
// revokes the wallet. Fails, never skips, without /usr/bin/chromium.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hex } from 'ox';
import type { Browser, Page } from 'playwright-core';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, type NodeOutcome } from '../../client/index.ts';
import {
  ErrorCode,
  encodeManifest,
  requireNativeSuite,
  toHex,
  type RejectionCode,
} from '../../protocol/index.ts';
import { signRevocation } from '../../revocation/index.ts';
import {
  ensureBrowserBundle,
  injectWallet,
  launchChromium,
  serveStatic,
} from '../support/browser.ts';
import { newWallet, playerSession } from '../support/in-process.ts';
import {
  REPO_ROOT,
  createQuorumFiles,
  spawnNode,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
const PAGE_DIR = join(REPO_ROOT, 'test', 'browser', 'recover-page');
const NODES = 5;
const THRESHOLD = 3;
/** Roomy rate limits: one wallet and one address send every request of the file. */
const ROOMY = ['--per-ip-burst', '400', '--per-peer-burst', '400', '--per-wallet-burst', '400'];
/** Killed first (two down: t of 5 still up), then the third. */
const FIRST_DOWN = [2, 4] as const;
const THIRD_DOWN = 5;
/** Five nodes start in a few seconds; generous for a loaded CI machine. */
const READY_TIMEOUT_MS = 60_000;

/** What window.qkmsTest.recover answers (test/browser/recover-page/page.js). */
interface PageReport {
  readonly index: number;
  readonly outcome: NodeOutcome;
  readonly code?: RejectionCode;
}
type PageRecover =
  | { readonly ok: true; readonly cekHex: string; readonly report: readonly PageReport[] }
  | {
      readonly ok: false;
      readonly cekHex?: string;
      readonly error: {
        readonly name: string;
        readonly code?: string;
        readonly reason?: string;
        readonly message: string;
        readonly report: readonly PageReport[];
      };
    };

/**
 * The page's globals: window.qkmsTest (page.js) and window.ethereum (injectWallet).
 * page.evaluate serialises its callback, so each one casts `window` itself.
 */
interface PageWindow {
  readonly qkmsTest: {
    setup(
      nodeSetJson: string,
      options?: { webrtcDirect?: boolean },
    ): Promise<{ nodes: number; threshold: number }>;
    createSession(): Promise<{ address: string }>;
    recover(manifestHex: string): Promise<PageRecover>;
    close(): Promise<void>;
  };
  readonly ethereum: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
}

/** A recover that succeeded; a failure throws, naming its error and each node's outcome. */
function recovered(result: PageRecover): { cekHex: string; report: readonly PageReport[] } {
  if (result.ok) return result;
  const { name, code, message, report } = result.error;
  const nodes = report.map((r) => `${r.index} ${r.outcome}`).join(', ');
  throw new Error(`the page's recover failed: ${name} ${code ?? ''}: ${message} (nodes: ${nodes})`);
}

/** The error of a recover that failed; a success throws (without the CEK in the message). */
function refused(result: PageRecover): Extract<PageRecover, { ok: false }>['error'] {
  if (result.ok) throw new Error('expected the recover to fail, but the page recovered a CEK');
  expect(result.cekHex).toBeUndefined();
  return result.error;
}

/** Compares in memory: a CEK is never printed, not even by a failing assertion. */
const SAME_CEK = 'the recovered CEK is the published one';

function indexes(report: readonly PageReport[], outcome: NodeOutcome): number[] {
  return report.filter((r) => r.outcome === outcome).map((r) => r.index);
}

// Each browser transport in turn: a node set that lists TCP and only that
// transport, so the page (which has no TCP) must use it.
describe.each([
  ['WebSockets', { webSockets: true }],
  ['WebRTC-direct', { webrtcDirect: true }],
] as const)('a browser player against 5 node processes (t = 3) over %s', (_, transport) => {
  let files: QuorumFiles;
  const nodes: (NodeProcess | undefined)[] = [];
  let browser: Browser | undefined;
  let page: Page | undefined;
  let server: { url: string; close(): Promise<void> } | undefined;
  let client: QuorumClient | undefined;
  let address: string;
  let manifestHex: string;
  let cekHex: string;

  const start = async (index: number): Promise<void> => {
    nodes[index - 1] = await spawnNode(files, index, { args: ROOMY, timeoutMs: READY_TIMEOUT_MS });
  };
  const kill = async (index: number): Promise<void> => {
    const node = nodes[index - 1];
    nodes[index - 1] = undefined;
    node?.child.kill('SIGKILL');
    expect(await node?.exited).toBe('SIGKILL');
  };
  const recover = (): Promise<PageRecover> =>
    page!.evaluate((hex) => (window as unknown as PageWindow).qkmsTest.recover(hex), manifestHex);

  beforeAll(async () => {
    // The browser first: without it the file fails at once, before any node starts.
    browser = await launchChromium();
    files = await createQuorumFiles(NODES, THRESHOLD, transport);
    const bundle = await ensureBrowserBundle();
    // Every start settles before a failure is thrown: afterAll then stops each node that came up.
    const started = await Promise.allSettled(Array.from({ length: NODES }, (_, i) => start(i + 1)));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    server = await serveStatic({ '/': PAGE_DIR, '/qkms-client.js': bundle });

    const opened = await browser.newPage();
    page = opened;
    ({ address } = await injectWallet(opened, generatePrivateKey()));
    await opened.goto(`${server.url}/`);
    await opened.waitForFunction(() => 'qkmsTest' in window);
    const nodeSetJson = readFileSync(files.nodeSetPath, 'utf8');
    expect(
      await opened.evaluate(
        ([json, webrtcDirect]) =>
          (window as unknown as PageWindow).qkmsTest.setup(json, { webrtcDirect }),
        [nodeSetJson, 'webrtcDirect' in transport] as const,
      ),
    ).toEqual({
      nodes: NODES,
      threshold: THRESHOLD,
    });

    // The publisher, in Node over TCP: a fresh CEK only the browser's wallet may recover.
    client = await QuorumClient.create({ nodeSet: files.nodeSet });
    const publisher = await playerSession(files.nodeSet, newWallet(), ['publish']);
    try {
      const published = await client.publish(publisher, {
        policy: { kind: 'allowlist', addresses: [Hex.toBytes(address as Hex.Hex)] },
      });
      expect(published.receipts.map((r) => r.outcome)).toEqual(Array(NODES).fill('ok'));
      manifestHex = toHex(encodeManifest(published.manifest));
      cekHex = toHex(published.cek);
      published.cek.fill(0);
    } finally {
      publisher.destroy();
    }
  });

  afterAll(async () => {
    await page
      ?.evaluate(() => (window as unknown as PageWindow).qkmsTest.close())
      .catch(() => undefined);
    await browser?.close();
    await server?.close();
    await client?.close();
    await Promise.all(
      nodes.map(async (node) => {
        node?.child.kill('SIGKILL');
        await node?.exited;
      }),
    );
    // Unset when beforeAll failed before making them.
    (files as QuorumFiles | undefined)?.cleanup();
  });

  it('the page makes a session from its EIP-1193 wallet; the provider refuses methods it lacks', async () => {
    expect(
      await page!.evaluate(() => (window as unknown as PageWindow).qkmsTest.createSession()),
    ).toEqual({ address });
    const unsupported = await page!.evaluate(() =>
      (window as unknown as PageWindow).ethereum
        .request({ method: 'eth_sendTransaction', params: [] })
        .then(
          () => undefined,
          (e: unknown) => (e as { code?: unknown }).code,
        ),
    );
    expect(unsupported).toBe(4200);
  });

  it('recovers the CEK a Node publisher shared with its wallet', async () => {
    const result = recovered(await recover());
    expect(result.cekHex === cekHex, SAME_CEK).toBe(true);
    expect(indexes(result.report, 'ok').length).toBeGreaterThanOrEqual(THRESHOLD);
  });

  it('with two nodes killed, still recovers the same CEK from the other three', async () => {
    for (const index of FIRST_DOWN) await kill(index);
    const result = recovered(await recover());
    expect(result.cekHex === cekHex, SAME_CEK).toBe(true);
    expect(indexes(result.report, 'ok')).toEqual([1, 3, 5]);
  });

  it('with a third node killed, fails closed: no CEK, a RecoverError naming the three down', async () => {
    await kill(THIRD_DOWN);
    const error = refused(await recover());
    if ('webSockets' in transport) {
      // A killed node's TCP port refuses at once: the recover ends as soon as too few remain.
      expect(error).toMatchObject({
        name: 'RecoverError',
        reason: 'not-enough-shares',
        code: ErrorCode.NOT_READY,
      });
      expect(indexes(error.report, 'unreachable')).toEqual([2, 4, 5]);
    } else {
      // UDP has no refusal: dials to a killed node wait for their deadline, and so does the recover.
      expect(error).toMatchObject({ name: 'RecoverError' });
      expect(['not-enough-shares', 'aborted']).toContain(error.reason);
      expect(
        error.report
          .filter((r) => ['unreachable', 'timeout', 'cancelled'].includes(r.outcome))
          .map((r) => r.index),
      ).toEqual([2, 4, 5]);
    }
    // Nodes 1 and 3 served (`ok`), or were still answering when the recover gave up (`cancelled`).
    expect(
      error.report
        .filter((r) => r.outcome === 'ok' || r.outcome === 'cancelled')
        .map((r) => r.index),
    ).toEqual([1, 3]);
  });

  it('with all nodes back it recovers again; once an admin revokes the wallet, every node refuses it', async () => {
    await Promise.all([...FIRST_DOWN, THIRD_DOWN].map(start));
    const back = recovered(await recover());
    expect(back.cekHex === cekHex, SAME_CEK).toBe(true);

    const record = signRevocation(
      suite,
      files.nodeSet,
      {
        nodeSetId: files.nodeSet.id,
        kind: 'wallet',
        target: Hex.toBytes(address as Hex.Hex),
        issuedAt: Date.now(),
        reason: 'browser e2e',
      },
      files.adminSeeds,
    );
    const revoked = await client!.revoke(record);
    expect(revoked).toMatchObject({ effective: true, acknowledged: NODES });

    const error = refused(await recover());
    expect(error).toMatchObject({
      name: 'RevokedError',
      reason: 'revoked',
      code: ErrorCode.REVOKED,
    });
    // A refusal is final, so the client asks every node before giving up: each says REVOKED.
    expect(error.report.map((r) => r.code)).toEqual(Array(NODES).fill(ErrorCode.REVOKED));
  });
});
