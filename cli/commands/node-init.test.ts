import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNodeSetDocument, requireNativeSuite, toHex } from '../../protocol/index.ts';
import { KEYSTORE_FILE, WEBRTC_CERT_FILE, loadKeystore, type Keystore } from '../../node/index.ts';
import { readWebRtcCertificate } from '../../node/network/webrtc-cert.ts';
import { runCli, type CliRun } from '../../test/support/cli.ts';

const suite = requireNativeSuite();
const REPO = resolve(import.meta.dirname, '..', '..');
const PASS = 'correct horse battery staple';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-cli-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function run(argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(argv, { cwd: root, env });
}

function secretHexes(ks: Keystore): string[] {
  return [toHex(ks.identitySeed), toHex(ks.kemSeed), toHex(ks.storageKey)];
}

function expectNoSecrets(ks: Keystore, ...outputs: string[]): void {
  for (const hex of secretHexes(ks)) for (const out of outputs) expect(out).not.toContain(hex);
}

/** Stderr holds progress lines only (cli/progress.ts: the slow scrypt step), no warning or error. */
function expectOnlyProgress(stderr: string): void {
  for (const line of stderr.split('\n').filter((l) => l !== ''))
    expect(line).toMatch(/^qkms node init: (encrypting the keystore|keystore encrypted)/);
}

describe('qkms node', () => {
  it('--help lists the subcommands', async () => {
    const r = await run(['node', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/qkms node init\s+create the node keystore/);
  });

  it('without a subcommand, or with an unknown one, is a usage error (2)', async () => {
    expect((await run(['node'])).code).toBe(2);
    const r = await run(['node', 'launch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("qkms node: unknown command 'launch' (try 'qkms node --help')\n");
  });

  it('qkms help mentions the node commands', async () => {
    expect((await run(['help'])).stdout).toContain('qkms node <command>');
  });
});

describe('qkms node init', () => {
  it('--help prints its usage and creates nothing', async () => {
    const r = await run(['node', 'init', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Usage: qkms node init --dir DIR \[--passphrase-file FILE\] \[--json\]/,
    );
  });

  it('without a passphrase: creates a clear keystore, warns on stderr, prints the public part', async () => {
    const r = await run(['node', 'init', '--dir', 'node1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^qkms: warning: no passphrase .* stored unencrypted/);
    const dir = join(root, 'node1');
    expect(statSync(join(dir, KEYSTORE_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const ks = loadKeystore(dir, { suite });
    expect(ks.encrypted).toBe(false);
    expect(r.stdout).toContain(`Created ${join(dir, KEYSTORE_FILE)} (NOT encrypted)`);
    expect(r.stdout).toContain(`PeerId          ${ks.publicInfo.peerId}`);
    expect(r.stdout).toContain(ks.publicInfo.nodePublicKey);
    const { certhash } = readWebRtcCertificate(dir);
    expect(r.stdout).toContain(
      `WebRTC-direct   certhash ${certhash} (${WEBRTC_CERT_FILE}; for browsers, list /ip4/PUBLIC-IP/udp/PORT/webrtc-direct/certhash/${certhash})`,
    );
    expectNoSecrets(ks, r.stdout, r.stderr);

    // The snippet is JSON the admin pastes into "nodes": it carries the full KEM key and
    // placeholders, and the index placeholder (0) is one the node-set parser refuses.
    const snippet = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as Record<string, unknown>;
    expect(snippet).toEqual({
      index: 0,
      peerId: ks.publicInfo.peerId,
      multiaddrs: ['/dns4/REPLACE-WITH-THIS-NODE-HOSTNAME/tcp/7101'],
      kemPublicKey: ks.publicInfo.kemPublicKey,
    });
    const other = JSON.parse((await run(['node', 'init', '--dir', 'node2', '--json'])).stdout) as {
      nodeEntry: Record<string, unknown>;
    };
    const entries = [
      { ...snippet, index: 1, multiaddrs: ['/dns4/node1.example/tcp/7101'] },
      { ...other.nodeEntry, index: 2, multiaddrs: ['/dns4/node2.example/tcp/7101'] },
    ];
    const doc = {
      qkmsNodeSet: 1,
      epoch: 1,
      threshold: 2,
      nodes: entries,
      admins: { threshold: 1, keys: [toHex(suite.hybrid.keygen().publicKey)] },
      params: {
        maxGrantAgeMs: 120_000,
        maxClockSkewMs: 30_000,
        maxDelegationLifetimeMs: 86_400_000,
        siweDomain: 'app.example',
        chainId: 1,
      },
    };
    expect(parseNodeSetDocument(suite, doc).node(1)?.peerId).toBe(ks.publicInfo.peerId);
    expect(() => parseNodeSetDocument(suite, { ...doc, nodes: [snippet, entries[1]] })).toThrow(
      /index/,
    );
  });

  it('with QKMS_PASSPHRASE and --json: one JSON object, an encrypted keystore at production cost', async () => {
    const r = await run(['node', 'init', '--dir', 'n', '--json'], { QKMS_PASSPHRASE: PASS });
    expect(r.code).toBe(0);
    expectOnlyProgress(r.stderr);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const ks = loadKeystore(join(root, 'n'), { suite, passphrase: PASS });
    expect(out).toEqual({
      ok: true,
      keystore: join(root, 'n', KEYSTORE_FILE),
      encrypted: true,
      ...ks.publicInfo,
      // The WebRTC-direct certificate the node keeps (0600): the admin pins its hash.
      webrtcCerthash: readWebRtcCertificate(join(root, 'n')).certhash,
      nodeEntry: {
        index: 0,
        peerId: ks.publicInfo.peerId,
        multiaddrs: ['/dns4/REPLACE-WITH-THIS-NODE-HOSTNAME/tcp/7101'],
        kemPublicKey: ks.publicInfo.kemPublicKey,
      },
    });
    expect(statSync(join(root, 'n', WEBRTC_CERT_FILE)).mode & 0o777).toBe(0o600);
    expect(r.stdout).not.toContain('PRIVATE KEY');
    expectNoSecrets(ks, r.stdout, r.stderr);
  });

  it('with --passphrase-file: encrypts under the file’s passphrase (trailing newline dropped)', async () => {
    writeFileSync(join(root, 'pass'), `${PASS}\n`, { mode: 0o600 });
    const r = await run(['node', 'init', '--dir', 'n', '--passphrase-file', 'pass']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(encrypted with the passphrase)');
    expect(loadKeystore(join(root, 'n'), { suite, passphrase: PASS }).encrypted).toBe(true);
  });

  it('honours QKMS_PASSPHRASE_FILE, as node start does; the flag beats it', async () => {
    writeFileSync(join(root, 'pass'), PASS, { mode: 0o600 });
    const r = await run(['node', 'init', '--dir', 'a'], { QKMS_PASSPHRASE_FILE: 'pass' });
    expect(r.code).toBe(0);
    expectOnlyProgress(r.stderr);
    expect(loadKeystore(join(root, 'a'), { suite, passphrase: PASS }).encrypted).toBe(true);
    const f = await run(['node', 'init', '--dir', 'b', '--passphrase-file', 'nope'], {
      QKMS_PASSPHRASE_FILE: 'pass',
    });
    expect(f.code).toBe(3);
    expect(f.stderr).toMatch(/--passphrase-file .*nope: cannot read \(ENOENT\)/);
  });

  it('refuses to overwrite an existing keystore: exit 3, one line on stderr', async () => {
    expect((await run(['node', 'init', '--dir', 'n'])).code).toBe(0);
    const before = readFileSync(join(root, 'n', KEYSTORE_FILE));
    const r = await run(['node', 'init', '--dir', 'n']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^qkms node init: .*keystore\.json already exists; refusing to replace/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(root, 'n', KEYSTORE_FILE))).toEqual(before);
  });

  const usage: [string, string[], RegExp][] = [
    ['no --dir', [], /--dir DIR: required/],
    ['an unknown flag', ['--dir', 'n', '--force'], /--force: unknown option/],
    [
      'a passphrase flag',
      ['--dir', 'n', '--passphrase', 'x'],
      /--passphrase: a passphrase on the command line/,
    ],
    ['a positional argument', ['--dir', 'n', 'extra'], /"extra": unexpected argument/],
    ['an empty --dir', ['--dir='], /--dir: expected a directory/],
  ];
  it.each(usage)('%s is a usage error (2)', async (_, args, message) => {
    const r = await run(['node', 'init', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("(try 'qkms node init --help')");
    expect(r.stdout).toBe('');
  });

  const config: [string, string[], Record<string, string>, RegExp][] = [
    ['a short passphrase', ['--dir', 'n'], { QKMS_PASSPHRASE: 'short' }, /at least 8 characters/],
    [
      'an empty QKMS_PASSPHRASE',
      ['--dir', 'n'],
      { QKMS_PASSPHRASE: '' },
      /QKMS_PASSPHRASE: is set but empty/,
    ],
    [
      'both passphrase sources',
      ['--dir', 'n', '--passphrase-file', 'p'],
      { QKMS_PASSPHRASE: PASS },
      /QKMS_PASSPHRASE is also set/,
    ],
    [
      'a missing passphrase file',
      ['--dir', 'n', '--passphrase-file', 'nope'],
      {},
      /cannot read \(ENOENT\)/,
    ],
  ];
  it.each(config)('%s is a configuration error (3)', async (_, args, env, message) => {
    const r = await run(['node', 'init', ...args], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('the real executable', () => {
  function spawnQkms(args: readonly string[]): Promise<CliRun> {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('QKMS_')),
    );
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, ['bin/qkms.ts', ...args], { cwd: REPO, env });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        resolvePromise({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  it('bin/qkms.ts node init creates a keystore and exits 0; a second run exits 3', async () => {
    const dir = join(root, 'node');
    const first = await spawnQkms(['node', 'init', '--dir', dir, '--json']);
    expect(first.stderr).toContain('qkms: warning: no passphrase');
    expect(first.code).toBe(0);
    const ks = loadKeystore(dir, { suite });
    expect(JSON.parse(first.stdout)).toMatchObject({
      peerId: ks.publicInfo.peerId,
      encrypted: false,
    });
    expectNoSecrets(ks, first.stdout, first.stderr);

    const second = await spawnQkms(['node', 'init', '--dir', dir]);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/already exists/);
  });
});
