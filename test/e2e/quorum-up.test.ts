// `qkms quorum up` and `npm start` as a developer runs them: real child
// processes, real ports on loopback, stopped by a signal.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSignedNodeSet, requireNativeSuite } from '../../protocol/index.ts';
import type { QuorumConfigJson } from '../../cli/commands/dev-quorum.ts';
import { REPO_ROOT, freeQuorumBasePort, isPortFree, quorumUpPorts } from '../support/quorum.ts';

const suite = requireNativeSuite();
const EXECUTABLE = join(REPO_ROOT, 'bin', 'qkms.ts');
const READY_PREFIX = 'qkms quorum ready:';
/** In the printed `admin revoke` step; README writes 0xYOUR_WALLET. */
const ADDRESS_PLACEHOLDER = "<the address 'wallet new' printed>";

/** README's steps after `npm start`, for a quorum in DIR rather than .qkms/. */
function readmeSteps(dir: string): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(npx qkms wallet new[^`]*)```/.exec(readme)?.[1] ?? '';
  return block
    .trim()
    .split('\n')
    .map((l) => l.replaceAll('.qkms/', `${dir}/`).replace('0xYOUR_WALLET', ADDRESS_PLACEHOLDER));
}
/** README's access-pass walk-through, for a quorum in DIR: each command, where its stdout goes, its exit code. */
function readmePassSteps(dir: string): { command: string; stdoutTo?: string; code: number }[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(npx qkms dev chain policy[^`]*)```/.exec(readme)?.[1] ?? '';
  return block
    .trim()
    .split('\n')
    .map((line) => {
      const [text = '', comment = ''] = line.replaceAll('.qkms/', `${dir}/`).split(/\s+#\s*/);
      const [command = '', stdoutTo] = text.trim().split(' > ');
      const code = /exit (\d)/.exec(comment)?.[1] ?? (/refused/.test(comment) ? '5' : '0');
      return { command, ...(stdoutTo === undefined ? {} : { stdoutTo }), code: Number(code) };
    });
}
/** Generous: five nodes start in a few seconds, but CI machines are slow. */
const READY_TIMEOUT_MS = 60_000;
/** `quorum up` allows its nodes 10 s to stop, then kills them. */
const STOP_TIMEOUT_MS = 30_000;
// The README walk-through runs 18 CLI processes one after another. Each loads the whole
// CLI from TypeScript source (1.4–3 s here), so the suite's 120 s default is too tight
// on a loaded 2-core machine: it ran 54 s alone and over 120 s in a full CI run.
const WALKTHROUGH_TIMEOUT_MS = 300_000;

let root: string;
const running: { child: ChildProcess; group: boolean; exited: Promise<unknown> }[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-quorum-up-e2e-'));
});
afterEach(async () => {
  // A failed test must not leave a quorum behind.
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null && r.child.pid !== undefined) {
      process.kill(r.group ? -r.child.pid : r.child.pid, 'SIGTERM');
    }
    await r.exited;
  }
  rmSync(root, { recursive: true, force: true });
});

/** Polls a /readyz URL until it answers 200 or `ms` pass; the last status. */
async function readyWithin(url: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { status } = await fetch(url);
    if (status === 200 || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allFree(ports: readonly number[]): Promise<boolean> {
  return (await Promise.all(ports.map(isPortFree))).every(Boolean);
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The environment of a developer's shell: no QKMS_* settings, no npm_* of the npx that runs vitest. */
function shellEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !e[0].startsWith('QKMS_') && !e[0].startsWith('npm_'),
    ),
  );
}

interface Started {
  readonly child: ChildProcess;
  /** The ready line on stdout. */
  readonly readyLine: string;
  /** Everything on stdout so far (more arrives until the process ends). */
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `command` and waits for its ready line: "qkms quorum ready: …", or the JSON report with --json. */
async function start(
  command: string,
  args: readonly string[],
  options: { group: boolean; json?: boolean },
): Promise<Started> {
  const { group } = options;
  const isReady = (line: string): boolean =>
    options.json === true ? /^\{.*"ready":true/.test(line) : line.startsWith(READY_PREFIX);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: shellEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  running.push({ child, group, exited });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ready line in time; stderr: ${err}`));
    }, READY_TIMEOUT_MS);
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find(isReady);
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`exited (${JSON.stringify(exit)}) before ready; stderr: ${err}`));
    });
  });
  return { child, readyLine, stdout: () => out, stderr: () => err, exited };
}

function readConfig(dir: string): QuorumConfigJson {
  return JSON.parse(readFileSync(join(dir, 'quorum.json'), 'utf8')) as QuorumConfigJson;
}

function upArgs(dir: string, base: number, ...more: string[]): string[] {
  return [
    EXECUTABLE,
    'quorum',
    'up',
    '--dir',
    dir,
    '--nodes',
    '3',
    '--threshold',
    '2',
    '--base-port',
    String(base),
    ...more,
  ];
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('qkms quorum up', () => {
  it('runs 3 nodes that answer /readyz, writes a verifiable quorum.json, stops them all on SIGTERM, and reuses the keys next time', async () => {
    const dir = join(root, 'q');
    const base = await freeQuorumBasePort(3);
    const ports = quorumUpPorts(base, 3);

    const first = await start(process.execPath, upArgs(dir, base), { group: false });
    const config = readConfig(dir);
    expect(config.qkmsQuorum).toBe(1);
    const nodeSet = parseSignedNodeSet(suite, config.nodeSet);
    expect(nodeSet.nodes).toHaveLength(3);
    expect(nodeSet.threshold).toBe(2);
    expect(config.nodes.map((n) => n.peerId)).toEqual(nodeSet.nodes.map((n) => n.peerId));
    for (const node of config.nodes) {
      expect(first.readyLine).toContain(
        `node ${node.index} ${node.multiaddr} metrics ${node.metrics}`,
      );
      // The ready line means started; /readyz also needs a first anti-entropy
      // round with a majority (decision 0004), which follows within moments.
      expect(await readyWithin(node.metrics.replace(/\/metrics$/, '/readyz'), 10_000)).toBe(200);
    }
    expect(first.stdout()).toContain(
      `qkms content recover --quorum ${join(dir, 'quorum.json')} --manifest ${join(dir, 'scratch', 'manifest.json')} --wallet-key ${join(dir, 'scratch', 'wallet.key')} --out ${join(dir, 'scratch', 'recovered.hex')}`,
    );
    expect(statSync(join(dir, 'scratch')).mode & 0o777).toBe(0o700);
    expect(first.stderr()).toMatch(/all 3 nodes ready in /);
    expect(first.stderr()).toContain('NOT encrypted');
    expect(first.stderr()).toMatch(/node 3\/3 ready/);

    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toEqual({ code: 0, signal: null });
    // Every node is gone: its ports are free again, and its log records a clean stop.
    expect(await allFree(ports)).toBe(true);
    for (let i = 1; i <= 3; i++) {
      expect(readFileSync(join(dir, 'nodes', String(i), 'node.log'), 'utf8')).toContain(
        '"msg":"node stopped"',
      );
    }

    const second = await start(process.execPath, upArgs(dir, base, '--json'), {
      group: false,
      json: true,
    });
    const report = JSON.parse(second.readyLine) as {
      ok: boolean;
      ready: boolean;
      nodes: { index: number; peerId: string; pid: number }[];
    };
    expect(report.ok).toBe(true);
    expect(report.ready).toBe(true);
    expect(report.nodes.map((n) => n.peerId)).toEqual(config.nodes.map((n) => n.peerId));
    expect(second.stderr()).toContain('reused the 3 node keystores');
    expect(second.stderr()).toContain('reused the node set');
    for (const node of report.nodes) expect(isRunning(node.pid)).toBe(true);

    second.child.kill('SIGINT');
    expect(await second.exited, second.stderr()).toEqual({ code: 0, signal: null });
    for (const node of report.nodes) expect(isRunning(node.pid)).toBe(false);
    expect(await allFree(ports)).toBe(true);
  });

  it(
    '`npm start` runs the default 5-node quorum, a key published and recovered through the CLI matches, the README access-pass walk-through holds, a revoked wallet is refused, the audit chain verifies, and a Ctrl-C to its process group stops it',
    async () => {
      const dir = join(root, 'n');
      const base = await freeQuorumBasePort(5);
      const started = await start(
        'npm',
        ['start', '--', '--dir', dir, '--base-port', String(base)],
        {
          group: true,
        },
      );
      expect(started.readyLine).toMatch(/^qkms quorum ready: 3 of 5 nodes, /);
      expect(parseSignedNodeSet(suite, readConfig(dir).nodeSet).nodes).toHaveLength(5);

      // The printed next steps are README's, in its order. A newcomer runs them as printed
      // (through the executable), from another folder: they write only into DIR/scratch.
      const printed = started
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('  npx qkms '))
        .map((l) => l.trim());
      expect(printed).toEqual(readmeSteps(dir));
      const cwd = mkdtempSync(join(root, 'cwd-'));
      const scratch = join(dir, 'scratch');
      const cli = (
        command: string,
        options: { address?: string; env?: Record<string, string> } = {},
      ): { code: number | null; stdout: string; stderr: string } => {
        const args = command
          .replace(ADDRESS_PLACEHOLDER, options.address ?? '')
          .split(' ')
          .slice(2); // "npx qkms"
        const r = spawnSync(process.execPath, [EXECUTABLE, ...args], {
          cwd,
          env: { ...shellEnv(), ...options.env },
          encoding: 'utf8',
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const [walletStep, publishStep, recoverStep, statusStep, revokeStep, auditStep] = printed;
      const made = cli(walletStep ?? '');
      expect(made.code).toBe(0);
      const address = /0x[0-9a-fA-F]{40}/.exec(made.stdout)?.[0] ?? '';
      const wallet = join(scratch, 'wallet.key');
      expect(cli(`npx qkms wallet show ${wallet} --json`).stdout).toBe(
        `${JSON.stringify({ ok: true, address, keyFile: wallet })}\n`,
      );
      const published = cli(publishStep ?? '');
      expect(published.code, published.stderr).toBe(0);
      const recovered = cli(recoverStep ?? '');
      expect(recovered.code, recovered.stderr).toBe(0);
      const cek = readFileSync(join(scratch, 'cek.hex'), 'utf8');
      expect(cek).toMatch(/^[0-9a-f]{64}\n$/);
      expect(readFileSync(join(scratch, 'recovered.hex'), 'utf8')).toBe(cek);
      expect(statSync(join(scratch, 'recovered.hex')).mode & 0o777).toBe(0o600);
      expect(published.stdout + recovered.stdout).not.toContain(cek.trim());
      expect(cli(statusStep ?? '').code).toBe(0);
      // Without --quorum: QKMS_QUORUM names the file.
      expect(
        cli('npx qkms node status', { env: { QKMS_QUORUM: join(dir, 'quorum.json') } }).code,
      ).toBe(0);
      // README's access-pass walk-through: refused, granted a pass, recovered, pass burnt, refused.
      const passSteps = readmePassSteps(dir);
      expect(passSteps.map((p) => p.code)).toEqual([0, 0, 0, 5, 0, 0, 0, 5]);
      const quorumEnv = { QKMS_QUORUM: join(dir, 'quorum.json') };
      for (const step of passSteps) {
        const r = cli(step.command, { env: quorumEnv });
        expect(r.code, `${step.command}\n${r.stderr}`).toBe(step.code);
        if (step.stdoutTo !== undefined) writeFileSync(step.stdoutTo, r.stdout);
        if (step.code === 5) expect(r.stderr).toMatch(/rejected \(ACCESS_DENIED\)/);
      }
      expect(readFileSync(join(scratch, 'fan-2.hex'), 'utf8')).toBe(
        readFileSync(join(scratch, 'pass-cek.hex'), 'utf8'),
      );

      const revoked = cli(revokeStep ?? '', { address });
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toMatch(/^effective: [345] of 5 nodes hold it \(3 needed\)$/m);
      const refused = cli(
        (recoverStep ?? '').replace(join(scratch, 'recovered.hex'), join(scratch, 'again.hex')),
      );
      expect(refused.code).toBe(6);
      expect(cli(auditStep ?? '').code).toBe(0);
      // Nothing was written where the commands ran; everything went to the scratch folder.
      expect(readdirSync(cwd)).toEqual([]);
      expect(readdirSync(scratch).sort()).toEqual([
        'cek.hex',
        'fan-2.hex',
        'fan.key',
        'manifest.json',
        'pass-cek.hex',
        'pass-manifest.json',
        'pass.json',
        'recovered.hex',
        'wallet.key',
      ]);

      // What a terminal does on Ctrl-C: the signal goes to npm, its shell and `quorum up` at once.
      process.kill(-(started.child.pid ?? 0), 'SIGINT');
      await started.exited;
      // npm may end before `quorum up` has stopped its nodes; they stop within its grace.
      await waitUntil('the nodes to stop', () => allFree(quorumUpPorts(base, 5)), STOP_TIMEOUT_MS);
      // Stopped, not killed: each log ends with the node's clean-stop line.
      const stoppedCleanly = (i: number): boolean =>
        readFileSync(join(dir, 'nodes', String(i), 'node.log'), 'utf8').includes(
          '"msg":"node stopped"',
        );
      await waitUntil(
        'the nodes to log a clean stop',
        () => Promise.resolve([1, 2, 3, 4, 5].every(stoppedCleanly)),
        STOP_TIMEOUT_MS,
      );
    },
    WALKTHROUGH_TIMEOUT_MS,
  );
});
