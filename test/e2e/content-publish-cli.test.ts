// `qkms content publish` and its output files against a real quorum on
// loopback (in-process nodes, the CLI in this process): every output is
// checked before anything leaves the machine, the manifest and the key are
// written (atomically, never over an existing file) before any node is
// asked, and a publish that fails half-way says what was stored where and how
// to finish it — and that way of finishing works.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../support/cli.ts';
import { startQuorum, stopNode, stopQuorum, type Quorum } from '../support/in-process.ts';

/** Exit codes of the client commands (cli/exit.ts EXIT). */
const EXIT_OUTPUT = 7;
const EXIT_UNAVAILABLE = 4;

let q: Quorum;
let work: string;
let quorumFile: string;
let walletFile: string;

beforeAll(async () => {
  q = await startQuorum(3, 2);
  quorumFile = q.files.nodeSetPath;
});
afterAll(async () => {
  await stopQuorum(q);
});
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'qkms-publish-cli-'));
  walletFile = join(work, 'wallet.key');
  writeFileSync(walletFile, `${generatePrivateKey()}\n`, { mode: 0o600 });
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});
afterEach(async () => {
  // Every test leaves the whole quorum running.
  for (let i = 1; i <= 3; i++) if (q.nodes[i - 1] === undefined) await q.start(i);
});

/** Content ids stored, summed over the running nodes. */
async function sharesStored(): Promise<number> {
  let total = 0;
  for (const node of q.nodes) {
    if (node === undefined) continue;
    total += (await node.metrics.sharesStored.get()).values[0]?.value ?? 0;
  }
  return total;
}

/** A fresh folder for one test's files. */
function folder(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
}

function publish(dir: string, args: readonly string[]): Promise<CliRun> {
  return runCli(
    ['content', 'publish', '--quorum', quorumFile, '--wallet-key', walletFile, ...args],
    { cwd: dir },
  );
}

function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}

describe('outputs are checked before anything leaves the machine', () => {
  it('an existing --cek-out: exit 7, the file untouched, no node asked (no share stored), no manifest written', async () => {
    const dir = folder('cek-exists');
    writeFileSync(join(dir, 'cek.hex'), 'earlier key\n', { mode: 0o600 });
    const before = await sharesStored();
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'manifest.json']);
    expect(run.code).toBe(EXIT_OUTPUT);
    expect(run.stderr).toMatch(
      /cek\.hex already exists; refusing to overwrite it\. Nothing was sent/,
    );
    expect(readFileSync(join(dir, 'cek.hex'), 'utf8')).toBe('earlier key\n');
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    expect(await sharesStored()).toBe(before);
    expect(tempFiles(dir)).toEqual([]);
  });

  it('an existing --out manifest is never overwritten: exit 7, the earlier manifest byte for byte, no node asked', async () => {
    const dir = folder('manifest-exists');
    writeFileSync(join(dir, 'manifest.json'), '{"earlier": true}\n');
    const before = await sharesStored();
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'manifest.json']);
    expect(run.code).toBe(EXIT_OUTPUT);
    expect(run.stderr).toMatch(/manifest\.json already exists; refusing to overwrite it/);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe('{"earlier": true}\n');
    expect(existsSync(join(dir, 'cek.hex'))).toBe(false);
    expect(await sharesStored()).toBe(before);
  });

  it('--out in a missing folder: exit 7 naming the folder (no raw ENOENT), no key file, no node asked', async () => {
    const dir = folder('missing-folder');
    const before = await sharesStored();
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'nowhere/manifest.json']);
    expect(run.code).toBe(EXIT_OUTPUT);
    expect(run.stderr).toMatch(/folder .*nowhere does not exist/);
    expect(run.stderr).not.toContain('ENOENT');
    expect(existsSync(join(dir, 'cek.hex'))).toBe(false);
    expect(await sharesStored()).toBe(before);
  });

  it('the same file for --out and --cek-out is a usage error, before anything is sent', async () => {
    const dir = folder('same-file');
    const run = await publish(dir, ['--cek-out', 'x', '--out', 'x']);
    expect(run.code).toBe(2);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('files on disk whatever the nodes do', () => {
  it('a full publish writes the manifest and the key (0600) whole, with no temp file left', async () => {
    const dir = folder('ok');
    const before = await sharesStored();
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'manifest.json', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      stored: [1, 2, 3],
      refused: [],
      unconfirmed: [],
      recoverable: true,
      complete: true,
    });
    expect(JSON.parse(run.stdout)).not.toHaveProperty('finish');
    expect(statSync(join(dir, 'cek.hex')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'cek.hex'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toHaveProperty('cbor');
    expect(tempFiles(dir)).toEqual([]);
    expect(await sharesStored()).toBe(before + 3);
  });

  it('every node down: exit 4, both files written before sending, and the report says no node stored it', async () => {
    const dir = folder('all-down');
    for (let i = 1; i <= 3; i++) await stopNode(q, i);
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'manifest.json']);
    expect(run.code).toBe(EXIT_UNAVAILABLE);
    expect(run.stdout + run.stderr).toMatch(/no node confirmed storing a share/);
    expect(run.stdout + run.stderr).toMatch(
      /unconfirmed \(no answer or no valid receipt; may hold its share\): nodes 1, 2, 3/,
    );
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    expect(statSync(join(dir, 'cek.hex')).mode & 0o777).toBe(0o600);

    const json = await publish(folder('all-down-json'), [
      '--cek-out',
      'cek.hex',
      '--out',
      'manifest.json',
      '--json',
    ]);
    expect(json.code).toBe(EXIT_UNAVAILABLE);
    expect(JSON.parse(json.stdout)).toMatchObject({
      stored: [],
      refused: [],
      unconfirmed: [1, 2, 3],
      recoverable: false,
    });
  });

  it('half-way (1 of 3 nodes, t = 2): exit 4, says what was stored where, and its finish command completes the publish', async () => {
    const dir = folder('half-way');
    await stopNode(q, 2);
    await stopNode(q, 3);
    const run = await publish(dir, ['--cek-out', 'cek.hex', '--out', 'manifest.json']);
    expect(run.code).toBe(EXIT_UNAVAILABLE);
    const text = run.stdout + run.stderr;
    expect(text).toMatch(/stored \(signed receipt\): node 1\b/);
    expect(text).toMatch(/unconfirmed \(.*\): nodes 2, 3/);
    expect(text).toMatch(/not recoverable yet/);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, 'cek.hex'))).toBe(true);

    // The printed way to finish, run as printed once the nodes are back.
    const line = text.split('\n').find((l) => l.trimStart().startsWith('qkms content publish'));
    expect(line).toBeDefined();
    const words = (line ?? '').trim().split(/\s+/).slice(3);
    expect(words).toContain('--cek-in');
    await q.start(2);
    await q.start(3);
    const finish = await runCli(['content', 'publish', ...words, '--json'], { cwd: dir });
    expect(finish.code).toBe(0);
    expect(JSON.parse(finish.stdout)).toMatchObject({ stored: [1, 2, 3], recoverable: true });
    const newManifest = (JSON.parse(finish.stdout) as { manifest: string }).manifest;

    const recovered = await runCli(
      [
        'content',
        'recover',
        '--quorum',
        quorumFile,
        '--manifest',
        newManifest,
        '--wallet-key',
        walletFile,
        '--out',
        'recovered.hex',
      ],
      { cwd: dir },
    );
    expect(recovered.code).toBe(0);
    expect(readFileSync(join(dir, 'recovered.hex'), 'utf8')).toBe(
      readFileSync(join(dir, 'cek.hex'), 'utf8'),
    );
  });
});
