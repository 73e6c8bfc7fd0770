// Recover latency from a real browser (issue 15): the same quorum as recover.bench.ts — 5 node
// processes (t = 3) on loopback, roomy rate limits — each also listening on WebSockets, and a
// player in Debian's Chromium (headless, playwright-core) running the client's browser bundle
// (WebSockets, the noble crypto suite) from test/browser/recover-page/. The publisher is a
// QuorumClient in this process; the player's session is delegated by an EIP-1193 wallet whose
// key signs in this process (test/support/browser.ts). Each recover is timed in the page with
// performance.now(), so the figure is the player's own wait, without page.evaluate's round trip:
//   recover.browser_latency_3of5   warm-up, then sequential recovers of one content,
// to set against recover.latency_3of5 (the Node client, TCP, the native suite). The page
// compares every CEK it recovers with the first; the first is checked against the published one
// here. test/perf/README.md says what the figures include.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuorumClient, Session, walletFromPrivateKey } from '../../client/index.ts';
import { encodeManifest, toHex } from '../../protocol/index.ts';
import {
  ensureBrowserBundle,
  injectWallet,
  launchChromium,
  serveStatic,
} from '../support/browser.ts';
import { REPO_ROOT, createQuorumFiles, listenArgs } from '../support/quorum.ts';
import { check, distribution, type BenchResult, type Scenario, type Study } from './harness.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';

const NAME = 'recover.browser_latency_3of5';
const NODES = 5;
const THRESHOLD = 3;
/** Recovers before measuring: connections, the page's JIT, the client's latency estimates. */
const WARMUP_RECOVERS = 50;
const LATENCY_RECOVERS = 200;
const HOUR_MS = 3_600_000;
const PAGE_DIR = join(REPO_ROOT, 'test', 'browser', 'recover-page');

/** What the page's recover and recoverMany answer (test/browser/recover-page/page.js). */
interface PageError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}
type PageRecover =
  | { readonly ok: true; readonly cekHex: string }
  | { readonly ok: false; readonly error: PageError };
interface PageRun {
  readonly latencies: number[];
  readonly errors: number;
  readonly mismatches: number;
  readonly elapsedMs: number;
  readonly firstError?: PageError;
}
interface PageWindow {
  readonly qkmsTest: {
    setup(nodeSetJson: string): Promise<unknown>;
    createSession(): Promise<unknown>;
    recover(manifestHex: string): Promise<PageRecover>;
    recoverMany(manifestHex: string, count: number): Promise<PageRun>;
    close(): Promise<void>;
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function describeRun(run: PageRun): string {
  const { p50_ms, p99_ms } = distribution(run.latencies.length > 0 ? run.latencies : [0]);
  const errors =
    run.errors === 0
      ? ''
      : `, ${run.errors} errors (first: ${run.firstError?.name ?? '?'} ${run.firstError?.message ?? ''})`;
  return `p50 ${(p50_ms ?? 0).toFixed(1)} ms, p99 ${(p99_ms ?? 0).toFixed(1)} ms${errors}`;
}

const browserStudy: Study = {
  names: [NAME],
  run: async (context) => {
    const files = await createQuorumFiles(NODES, THRESHOLD, { webSockets: true });
    const quorum = new Quorum(files, ROOMY_RATES);
    const browser = await launchChromium();
    let server: Awaited<ReturnType<typeof serveStatic>> | undefined;
    let client: QuorumClient | undefined;
    try {
      // Quorum passes each node its TCP --listen; the WebSocket one is per node.
      await Promise.all(
        Array.from({ length: NODES }, (_, i) =>
          quorum.start([i + 1], { args: listenArgs(files, i + 1).slice(2) }),
        ),
      );
      server = await serveStatic({ '/': PAGE_DIR, '/qkms-client.js': await ensureBrowserBundle() });

      client = await QuorumClient.create({ nodeSet: files.nodeSet });
      const publisher = await Session.create({
        wallet: walletFromPrivateKey(randomBytes(32).toString('hex')),
        nodeSet: files.nodeSet,
        capabilities: { actions: ['publish'], content: 'all' },
        lifetimeMs: HOUR_MS,
      });
      let manifestHex: string;
      let cekHex: string;
      try {
        const published = await client.publish(publisher, { policy: { kind: 'open' } });
        check(
          published.receipts.every((r) => r.outcome === 'ok'),
          `every node stored the published share (${published.receipts.map((r) => r.outcome).join(', ')})`,
        );
        manifestHex = toHex(encodeManifest(published.manifest));
        cekHex = toHex(published.cek);
        published.cek.fill(0);
      } finally {
        publisher.destroy();
      }

      const page = await browser.newPage();
      await injectWallet(page, randomBytes(32).toString('hex'));
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => 'qkmsTest' in window);
      await page.evaluate(
        (json) => (window as unknown as PageWindow).qkmsTest.setup(json),
        readFileSync(files.nodeSetPath, 'utf8'),
      );
      await page.evaluate(() => (window as unknown as PageWindow).qkmsTest.createSession());
      const first = await page.evaluate(
        (hex) => (window as unknown as PageWindow).qkmsTest.recover(hex),
        manifestHex,
      );
      check(
        first.ok && first.cekHex === cekHex,
        `the page recovers the published CEK (${first.ok ? 'another CEK' : `${first.error.name}: ${first.error.message}`})`,
      );
      const many = (count: number): Promise<PageRun> =>
        page.evaluate(
          ([hex, n]) => (window as unknown as PageWindow).qkmsTest.recoverMany(hex, n),
          [manifestHex, count] as const,
        );
      await many(WARMUP_RECOVERS);
      const run = await many(LATENCY_RECOVERS);
      check(
        run.mismatches === 0,
        `every recover returned the same CEK (${run.mismatches} did not)`,
      );
      check(run.latencies.length > 0, `${NAME}: some recover succeeded`);
      context.progress(`${NAME}: ${LATENCY_RECOVERS} recovers in Chromium, ${describeRun(run)}`);
      await page.evaluate(() => (window as unknown as PageWindow).qkmsTest.close());
      const row: BenchResult = {
        name: NAME,
        impl: 'chromium',
        ...distribution(run.latencies),
        per_s: round((run.latencies.length * 1000) / run.elapsedMs, 1),
        ...(run.errors === 0 ? {} : { errors: run.errors }),
      };
      return [row];
    } finally {
      await browser.close();
      await server?.close();
      await client?.close();
      await quorum.close();
    }
  },
};

export const browserBenches: readonly Scenario[] = [browserStudy];
