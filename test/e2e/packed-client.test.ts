// The packages as a player and an operator get them (decision 0013): `npm run
// build`'s tarballs installed outside the repository with npm, then used.
// @qkms/client in a fresh project: production dependencies only, a plain
// JavaScript script that publishes and recovers a CEK against a running
// quorum on Node 22 and on Node 24, a clear refusal on an older Node, and a
// strict TypeScript consumer of its declarations. qkms installed globally:
// the `qkms` executable on Node 24, and its refusal of an older Node.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, type BuiltPackages } from '../../deploy/packages/build.ts';
import { packageDependencies, type DependencyRules } from '../../deploy/packages/dependencies.ts';
import { CLIENT_FORBIDDEN } from '../../deploy/packages/manifests.ts';
import {
  NPM_INSTALL_FLAGS,
  installInFreshProject,
  installedNames,
  mustRun as mustRunIn,
  runChild,
  type Ran,
} from '../../deploy/packages/install.ts';
import { toHex } from '../../protocol/index.ts';
import { startQuorum, stopQuorum, type Quorum } from '../support/in-process.ts';
import { node22, oldNode } from '../support/node22.ts';
import { REPO_ROOT, freeQuorumBasePort } from '../support/quorum.ts';

/** A script or a command here takes seconds; this catches a hung one. */
const CHILD_TIMEOUT_MS = 120_000;
/** What a player's app must never pull in: the repository's Node binary, and the server's storage and metrics. */
const SERVER_ONLY = ['node', 'level', 'classic-level', 'prom-client'];

let packages: Promise<BuiltPackages> | undefined;
/** One build for the whole file: `npm run build`'s own functions. */
function built(): Promise<BuiltPackages> {
  packages ??= buildPackages();
  return packages;
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; path?: string },
): Promise<Ran> {
  return runChild(command, args, { ...options, timeoutMs: CHILD_TIMEOUT_MS });
}

function mustRun(command: string, args: readonly string[], cwd: string): Promise<string> {
  return mustRunIn(command, args, { cwd });
}

/** A plain ES module a player writes: publish a CEK it is given, recover it, print the result. */
const APP = `import { readFileSync } from 'node:fs';
import { QuorumClient, Session, walletFromPrivateKey } from '@qkms/client';
import { defaultSuite, fromHex, parseSignedNodeSetJson, toHex } from '@qkms/client/protocol';

const [nodeSetFile, walletKey, cekHex] = process.argv.slice(2);
const suite = defaultSuite();
const nodeSet = parseSignedNodeSetJson(suite, readFileSync(nodeSetFile, 'utf8'));
const wallet = walletFromPrivateKey(walletKey);
const client = await QuorumClient.create({ nodeSet });
const session = await Session.create({
  wallet,
  nodeSet,
  capabilities: { actions: ['publish', 'recover'], content: 'all' },
  lifetimeMs: 600_000,
});
try {
  const published = await client.publish(session, { cek: fromHex(cekHex), policy: { kind: 'publisher-only' } });
  const { cek } = await client.recover(published.manifest, session, { signal: AbortSignal.timeout(30_000) });
  const stored = published.receipts.filter((r) => r.outcome === 'ok').length;
  console.log(JSON.stringify({ node: process.versions.node, suite: suite.name, stored, cek: toHex(cek) }));
} finally {
  session.destroy();
  await client.close();
}
`;

/** A TypeScript integrator's file: the package's types, used as documented, and misused once. */
const CONSUMER = `import { QuorumClient, RecoverError, Session, walletFromPrivateKey, type PublishResult, type WalletSigner } from '@qkms/client';
import { ErrorCode, defaultSuite, isQkmsError, parseSignedNodeSetJson, type NodeSet } from '@qkms/client/protocol';
import { combine, split } from '@qkms/client/shamir';
import { protocol } from '@qkms/client/browser-bundle';
import * as revocation from '@qkms/client/revocation';

export async function publishAndRecover(nodeSetJson: string, key: string): Promise<Uint8Array> {
  const nodeSet: NodeSet = parseSignedNodeSetJson(defaultSuite(), nodeSetJson);
  const wallet: WalletSigner = walletFromPrivateKey(key);
  const client = await QuorumClient.create({ nodeSet });
  const session = await Session.create({ wallet, nodeSet, capabilities: { actions: ['publish', 'recover'], content: 'all' }, lifetimeMs: 600_000 });
  try {
    const published: PublishResult = await client.publish(session, { policy: { kind: 'open' } });
    const { cek } = await client.recover(published.manifest, session);
    return cek;
  } catch (e) {
    if (e instanceof RecoverError) throw new Error(e.reason);
    if (isQkmsError(e) && e.code === ErrorCode.INVALID_MANIFEST) throw e;
    throw e;
  } finally {
    session.destroy();
    await client.close();
  }
}

export const helpers = [split, combine, protocol.toHex, Object.keys(revocation).length] as const;

// @ts-expect-error: a session needs a node set, capabilities and a lifetime; real types say so.
export const wrong = Session.create({ wallet: walletFromPrivateKey('00') });
`;

/** What \`tsc --init\` gives, strict, resolving packages as Node does. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  files: ['consumer.ts'],
};

describe('@qkms/client, packed and installed in a fresh project outside the repository', () => {
  let project: string;
  let quorum: Quorum;
  let node22Binary: string;

  beforeAll(async () => {
    const { client } = await built();
    project = await installInFreshProject(client.tarball, 'qkms-packed-client-');
    writeFileSync(join(project, 'app.mjs'), APP);
    node22Binary = node22();
    quorum = await startQuorum(3, 2);
  });

  afterAll(async () => {
    await stopQuorum(quorum);
    rmSync(project, { recursive: true, force: true });
  });

  it('installs outside the repository with no Node binary, no level and no prom-client in node_modules', () => {
    expect(relative(REPO_ROOT, project).startsWith('..')).toBe(true);
    const installed = installedNames(join(project, 'node_modules'));
    expect(installed.has('@qkms/client')).toBe(true);
    expect(SERVER_ONLY.filter((name) => installed.has(name))).toEqual([]);
    expect([...installed.keys()].filter((name) => /^node-(linux|darwin|win)-/.test(name))).toEqual(
      [],
    );
  });

  it.each([
    ['22', () => node22Binary, 'noble'],
    ['24', () => process.execPath, 'native'],
  ])(
    'a plain JavaScript script publishes a fresh CEK and recovers the same CEK on Node %s',
    async (major, node, suite) => {
      const cek = toHex(crypto.getRandomValues(new Uint8Array(32)));
      const result = await run(
        node(),
        ['app.mjs', quorum.files.nodeSetPath, generatePrivateKey(), cek],
        { cwd: project },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const printed = JSON.parse(result.stdout) as {
        node: string;
        suite: string;
        stored: number;
        cek: string;
      };
      expect(printed.node.split('.')[0]).toBe(major);
      // Node 22 has no ML-KEM in node:crypto, so the client falls back to noble there.
      expect(printed.suite).toBe(suite);
      expect(printed.stored).toBe(3);
      expect(printed.cek).toBe(cek);
    },
  );

  it('on a Node older than 22, importing the package fails with one error naming both versions', async () => {
    const old = oldNode();
    const version = (await mustRun(old, ['-p', 'process.versions.node'], project)).trim();
    const result = await run(old, ['--input-type=module', '-e', "await import('@qkms/client')"], {
      cwd: project,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Error: @qkms/client needs Node >= 22 (this is v${version})`);
  });

  it('a strict nodenext TypeScript project type-checks against the shipped declarations', async () => {
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('qkms, packed and installed globally into a temporary prefix', () => {
  let prefix: string;
  let qkms: string;

  beforeAll(async () => {
    const { cli } = await built();
    prefix = mkdtempSync(join(tmpdir(), 'qkms-packed-cli-'));
    await mustRun(
      'npm',
      ['install', '--global', '--prefix', prefix, ...NPM_INSTALL_FLAGS, cli.tarball],
      prefix,
    );
    qkms = join(prefix, 'bin', 'qkms');
  });

  afterAll(() => {
    rmSync(prefix, { recursive: true, force: true });
  });

  /** PATH with `node`'s folder first: what `#!/usr/bin/env node` then finds. */
  const pathWith = (node: string): string => `${dirname(node)}:${process.env['PATH'] ?? ''}`;

  it('installs no Node binary package and puts an executable qkms on the prefix', () => {
    const installed = installedNames(join(prefix, 'lib', 'node_modules'));
    expect(installed.has('qkms')).toBe(true);
    expect(installed.has('node')).toBe(false);
    expect(statSync(qkms).mode & 0o111).not.toBe(0);
  });

  it('qkms --help on Node 24 exits 0 and prints the usage', async () => {
    const result = await run(qkms, ['--help'], { cwd: prefix, path: pathWith(process.execPath) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage:\n  qkms node <command>');
  });

  it('on an older Node, qkms exits 1 with one line naming the Node it needs, no stack trace', async () => {
    const old = oldNode();
    const version = (await mustRun(old, ['-p', 'process.versions.node'], prefix)).trim();
    const result = await run(qkms, ['--help'], { cwd: prefix, path: pathWith(old) });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(`^qkms needs Node >= 24\\.7\\.0 \\(this is v${version.replaceAll('.', '\\.')}\\)`),
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('qkms --version reads the installed package', async () => {
    const result = await run(qkms, ['--version'], {
      cwd: prefix,
      path: pathWith(process.execPath),
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^qkms 0\.1\.0 \(node 24\./);
  });

  it('qkms quorum up from the installed package starts its nodes and stops them on SIGTERM', async () => {
    const base = await freeQuorumBasePort(2);
    const child = spawn(
      qkms,
      ['quorum', 'up', '--nodes', '2', '--threshold', '2', '--base-port', String(base), '--json'],
      {
        cwd: prefix,
        env: { PATH: pathWith(process.execPath), HOME: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const report = await new Promise<{ ok: boolean; ready: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`quorum up not ready in time; stderr: ${stderr.slice(-2000)}`));
      }, CHILD_TIMEOUT_MS);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { ok: boolean; ready: boolean });
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`quorum up exited (${String(code)}); stderr: ${stderr.slice(-2000)}`));
      });
    });
    expect(report).toMatchObject({ ok: true, ready: true });
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, `quorum up's exit after SIGTERM; stderr: ${stderr.slice(-3000)}`).toBe(0);
  });

  it('qkms wallet new writes a key file that qkms wallet show reads back, on Node 24', async () => {
    const keyFile = join(prefix, 'w.key');
    const path = pathWith(process.execPath);
    const made = await run(qkms, ['wallet', 'new', '--out', keyFile], { cwd: prefix, path });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const address = /^wallet (0x[0-9a-fA-F]{40})$/m.exec(made.stdout)?.[1];
    expect(address).toBeDefined();
    expect(existsSync(keyFile)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const shown = await run(qkms, ['wallet', 'show', keyFile], { cwd: prefix, path });
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(`wallet ${address ?? ''}`);
  });
});

describe("the build computes a package's dependencies from its files' imports", () => {
  let root: string;
  const repo = {
    dependencies: { '@noble/hashes': '2.4.0', level: '10.0.0' },
    devDependencies: { viem: '2.57.20' },
  };

  /** A package folder with dist/client/index.js importing `imports`, plus dist/client/lib.js. */
  function clientImporting(...imports: string[]): DependencyRules {
    root = mkdtempSync(join(tmpdir(), 'qkms-deps-'));
    mkdirSync(join(root, 'dist', 'client'), { recursive: true });
    const lines = imports.map((m, i) => `import * as m${i} from '${m}';`);
    writeFileSync(join(root, 'dist', 'client', 'index.js'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(root, 'dist', 'client', 'lib.js'),
      'export const s = \'import x from "fake"\';\n',
    );
    return {
      packageName: '@qkms/client',
      root,
      entries: ['dist/client/index.js'],
      imports: {},
      forbidden: CLIENT_FORBIDDEN,
    };
  }

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("lists each imported package once, at the repository's exact version, and ignores builtins and strings", () => {
    const rules = clientImporting(
      '@noble/hashes/sha2.js',
      '@noble/hashes/sha3.js',
      'node:fs',
      './lib.js',
    );
    expect(packageDependencies(rules, ['dist'], repo)).toEqual({ '@noble/hashes': '2.4.0' });
  });

  it('refuses a server-only package in the client, a devDependency and an undeclared package, naming each', () => {
    const rules = clientImporting('level', 'viem/accounts', 'left-pad');
    expect(() => packageDependencies(rules, ['dist'], repo)).toThrow(
      [
        '@qkms/client: cannot compute its dependencies:',
        "  left-pad (dist/client/index.js): not declared in the repository's package.json",
        '  level (dist/client/index.js): server-only storage (node/), not for a player',
        '  viem (dist/client/index.js): only a devDependency of the repository',
      ].join('\n'),
    );
  });

  it('refuses a package that loads a file it does not ship', () => {
    const rules = clientImporting('../node/daemon.js');
    expect(() => packageDependencies(rules, ['dist'], repo)).toThrow(
      '@qkms/client: dist/client/index.js imports ../node/daemon.js, which @qkms/client does not ship',
    );
  });
});
