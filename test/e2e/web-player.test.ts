// examples/web-player as its README runs it (issue 15): `qkms quorum up` as a
// child process (3 nodes, t = 2, TCP and WebSocket ports), then build.ts as
// a child (a clip encrypted with a fresh CEK, the CEK published with an
// allowlist naming the test wallet), then serve.ts's server, then the page
// in Debian's Chromium with an injected EIP-1193 wallet: it recovers the key
// over WebSockets, decrypts and plays the clip. Then what the page shows for
// a wallet the allowlist does not name, for a clip with a flipped byte, and
// for a revoked wallet. Fails, never skips, without /usr/bin/chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildReport } from '../../examples/web-player/build.ts';
import { serveWebPlayer, type Served } from '../../examples/web-player/serve.ts';
import { injectWallet, launchChromium } from '../support/browser.ts';
import { REPO_ROOT, freeQuorumBasePort } from '../support/quorum.ts';

const QKMS = join(REPO_ROOT, 'bin', 'qkms.ts');
const BUILD = join(REPO_ROOT, 'examples', 'web-player', 'build.ts');
const NODES = 3;
/** Five nodes start in a few seconds; CI machines are slow. */
const READY_TIMEOUT_MS = 60_000;
/** The page's own recover deadline is 15 s; decrypting three chunks takes milliseconds. */
const PAGE_TIMEOUT_MS = 30_000;
/** Where the header (56 bytes) and chunk 0 (64 KiB + a 16-byte tag) end: the second chunk starts. */
const SECOND_CHUNK_OFFSET = 56 + 64 * 1024 + 16;

/** window.webPlayer (examples/web-player/player.js). */
interface WebPlayerStatus {
  readonly state: string;
  readonly message: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly sha256: string | null;
  readonly duration: number | null;
  readonly nodes: readonly { index: number; outcome: string; code?: string }[];
  readonly error: { kind: string; message: string; code?: string; reason?: string } | null;
}

/** The environment of a developer's shell: no QKMS_* settings, no npm_* of the npx running vitest. */
function shellEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !e[0].startsWith('QKMS_') && !e[0].startsWith('npm_'),
    ),
  );
}

/** Runs a child to its end; its exit code and output. */
function run(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: shellEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `qkms quorum up` and waits for its ready line. */
async function quorumUp(
  dir: string,
  base: number,
): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(
    process.execPath,
    [
      QKMS,
      'quorum',
      'up',
      '--dir',
      dir,
      '--nodes',
      String(NODES),
      '--threshold',
      '2',
      '--base-port',
      String(base),
    ],
    { cwd: REPO_ROOT, env: shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`quorum up: no ready line in time; stderr: ${err}`));
    }, READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('qkms quorum ready:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`quorum up exited before ready; stderr: ${err}`));
    });
  });
  return { child, exited };
}

describe('examples/web-player against `qkms quorum up` (3 nodes, t = 2)', () => {
  let root: string;
  let quorum: { child: ChildProcess; exited: Promise<unknown> } | undefined;
  let browser: Browser | undefined;
  const servers: Served[] = [];
  let built: BuildReport;
  const playerKey = generatePrivateKey();
  /** The address the injected wallet presents: the one the allowlist names. */
  const playerAddress = privateKeyToAccount(playerKey).address;

  /** Opens the page with `key`'s wallet injected, clicks Connect, and returns where it ends. */
  async function playWith(
    url: string,
    key: string,
  ): Promise<{ page: Page; status: WebPlayerStatus }> {
    if (browser === undefined) throw new Error('no browser');
    const page = await browser.newPage();
    await injectWallet(page, key);
    await page.goto(url);
    await page.waitForFunction(
      () => (window as unknown as { webPlayer?: WebPlayerStatus }).webPlayer?.state === 'idle',
    );
    await page.click('#connect');
    await page.waitForFunction(
      () =>
        ['ready', 'playing', 'error'].includes(
          (window as unknown as { webPlayer: WebPlayerStatus }).webPlayer.state,
        ),
      null,
      { timeout: PAGE_TIMEOUT_MS },
    );
    const status = await page.evaluate(
      () => (window as unknown as { webPlayer: WebPlayerStatus }).webPlayer,
    );
    return { page, status };
  }

  beforeAll(async () => {
    // The browser first: without it the file fails at once, before any node starts.
    browser = await launchChromium();
    root = mkdtempSync(join(tmpdir(), 'qkms-web-player-e2e-'));
    quorum = await quorumUp(join(root, 'q'), await freeQuorumBasePort(NODES));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
    if (quorum !== undefined && quorum.child.exitCode === null) {
      quorum.child.kill('SIGTERM');
      await quorum.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('build.ts encrypts a clip, publishes its key to every node, and writes the page files', async () => {
    const out = join(root, 'web');
    const r = await run([
      BUILD,
      '--quorum',
      join(root, 'q', 'quorum.json'),
      '--out',
      out,
      '--allow',
      playerAddress,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    built = JSON.parse(r.stdout) as BuildReport;
    expect(built).toMatchObject({
      ok: true,
      policy: 'allowlist',
      threshold: 2,
      nodeCount: NODES,
      stored: [1, 2, 3],
    });
    expect(built.clip.chunks).toBe(3);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      qkmsManifest: 1,
      contentId: built.contentId,
      policy: 'allowlist',
    });
    // The header, the clip, and one tag per chunk (examples/web-player/clip.ts).
    expect(readFileSync(join(out, 'clip.enc')).length).toBe(56 + built.clip.bytes + 3 * 16);
    servers.push(await serveWebPlayer(out, 0));
  });

  it("the page recovers the key over WebSockets with the wallet's session, checks every chunk's tag, and plays the clip build.ts made", async () => {
    const { page, status } = await playWith(servers[0]!.url, playerKey);
    expect(status.error).toBeNull();
    expect(['ready', 'playing']).toContain(status.state);
    expect(status.bytes).toBe(built.clip.bytes);
    expect(status.chunks).toBe(3);
    expect(status.sha256).toBe(built.clip.sha256);
    expect(status.nodes.filter((n) => n.outcome === 'ok').length).toBeGreaterThanOrEqual(2);
    expect(await page.evaluate(() => document.querySelector('audio')!.duration)).toBeGreaterThan(0);
    expect(await page.locator('#status').textContent()).toMatch(/^(Ready|Playing)/);
    await page.close();
  });

  it('a wallet the allowlist does not name is refused: the page says so and names each node', async () => {
    const { page, status } = await playWith(servers[0]!.url, generatePrivateKey());
    expect(status.state).toBe('error');
    expect(status.error).toMatchObject({
      kind: 'recover',
      reason: 'not-enough-shares',
      code: 'ACCESS_DENIED',
    });
    expect(status.sha256).toBeNull();
    expect(status.error?.message).toMatch(/may not play this clip.*node \d rejected ACCESS_DENIED/);
    expect(status.nodes.map((n) => n.index)).toEqual([1, 2, 3]);
    await page.close();
  });

  it("a clip with one flipped byte in its second chunk fails that chunk's tag, and nothing plays", async () => {
    const tampered = join(root, 'tampered');
    cpSync(join(root, 'web'), tampered, { recursive: true });
    const clip = readFileSync(join(tampered, 'clip.enc'));
    clip[SECOND_CHUNK_OFFSET + 100] = (clip[SECOND_CHUNK_OFFSET + 100] ?? 0) ^ 1;
    writeFileSync(join(tampered, 'clip.enc'), clip);
    const served = await serveWebPlayer(tampered, 0);
    servers.push(served);
    const { page, status } = await playWith(served.url, playerKey);
    expect(status.state).toBe('error');
    expect(status.error).toMatchObject({ kind: 'integrity' });
    expect(status.error?.message).toMatch(/^chunk 2 of 3 failed its integrity check/);
    expect(status.sha256).toBeNull();
    expect(await page.locator('audio').isHidden()).toBe(true);
    await page.close();
  });

  it('after an admin revokes the wallet, the page reports the revocation and offers no retry', async () => {
    const q = join(root, 'q');
    const revoke = await run([
      QKMS,
      'admin',
      'revoke',
      '--quorum',
      join(q, 'quorum.json'),
      '--admin-key',
      join(q, 'admin.key'),
      '--wallet',
      playerAddress,
    ]);
    expect(revoke.code, revoke.stderr).toBe(0);
    const { page, status } = await playWith(servers[0]!.url, playerKey);
    expect(status.state).toBe('error');
    expect(status.error).toMatchObject({ kind: 'revoked', reason: 'revoked', code: 'REVOKED' });
    expect(status.error?.message).toMatch(/^Revoked: .*node \d rejected REVOKED/);
    expect(await page.locator('#connect').isDisabled()).toBe(true);
    await page.close();
  });
});
