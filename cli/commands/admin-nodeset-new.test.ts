// Long file: `qkms admin nodeset new` end to end in one process, over one set
// of fixtures: node entries from real `qkms node init --json` runs and admin
// keys from `qkms admin key new`, a document built from them, then signed by
// `nodeset sign` and verified by `nodeset show`; and the refusals an operator
// meets.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_SET_PARAMS, type NodeSetDocumentJson } from '../../protocol/internal.ts';
import { runCli, type CliRun } from '../../test/support/cli.ts';

interface NodeInit {
  /** The file holding what `node init --json` printed. */
  readonly file: string;
  readonly keystore: string;
  readonly entry: {
    readonly index: number;
    readonly peerId: string;
    readonly multiaddrs: readonly string[];
    readonly kemPublicKey: string;
  };
}

interface Admin {
  readonly keyFile: string;
  /** The file holding what `admin key new --json` printed. */
  readonly jsonFile: string;
  readonly publicKey: string;
  /** The secret seed's hex, as the key file holds it. */
  readonly secret: string;
}

let root: string;
const nodes: NodeInit[] = [];
const admins: Admin[] = [];

function run(argv: readonly string[]): Promise<CliRun> {
  return runCli(argv, { cwd: root });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'qkms-nodeset-new-'));
  for (const i of [1, 2, 3]) {
    const r = await run(['node', 'init', '--dir', `node${i}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const file = join(root, `entry${i}.json`);
    writeFileSync(file, r.stdout);
    const out = JSON.parse(r.stdout) as { keystore: string; nodeEntry: NodeInit['entry'] };
    nodes.push({ file, keystore: out.keystore, entry: out.nodeEntry });
  }
  for (const name of ['a', 'b']) {
    const r = await run(['admin', 'key', 'new', '--out', `${name}.key`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const jsonFile = join(root, `${name}.json`);
    writeFileSync(jsonFile, r.stdout);
    const keyFile = join(root, `${name}.key`);
    const { publicKey } = JSON.parse(r.stdout) as { publicKey: string };
    admins.push({
      keyFile,
      jsonFile,
      publicKey,
      secret: readFileSync(keyFile, 'utf8').trim().slice(2),
    });
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function node(i: number): NodeInit {
  const n = nodes[i - 1];
  if (n === undefined) throw new Error(`no node ${i}`);
  return n;
}

function admin(i: number): Admin {
  const a = admins[i - 1];
  if (a === undefined) throw new Error(`no admin ${i}`);
  return a;
}

const addr = (i: number): string => `/dns4/node${i}.example/tcp/7101`;

/** `nodeset new` with the required flags but --node, --admin and --threshold, which `args` gives. */
function build(out: string, ...args: string[]): Promise<CliRun> {
  return run([
    'admin',
    'nodeset',
    'new',
    '--admin-threshold',
    '1',
    '--siwe-domain',
    'app.example',
    '--chain-id',
    '1',
    '--out',
    out,
    ...args,
  ]);
}

/** Two nodes from their `node init --json` files, their addresses, admin a: a valid 2-of-2. */
const TWO = (): string[] => [
  '--threshold',
  '2',
  '--node',
  node(1).file,
  '--node',
  node(2).file,
  '--multiaddr',
  `1=${addr(1)}`,
  '--multiaddr',
  `2=${addr(2)}`,
  '--admin',
  admin(1).jsonFile,
];

function readDocument(name: string): NodeSetDocumentJson {
  return JSON.parse(readFileSync(join(root, name), 'utf8')) as NodeSetDocumentJson;
}

describe('qkms admin nodeset new', () => {
  it('builds from entry files, an inline entry, a key file and a hex key the document that sign signs and show verifies', async () => {
    const inline = JSON.stringify({ ...node(3).entry, multiaddrs: [addr(3), `${addr(3)}/ws`] });
    const made = await run([
      'admin',
      'nodeset',
      'new',
      '--threshold',
      '2',
      '--node',
      'entry1.json',
      '--node',
      'entry2.json',
      '--node',
      inline,
      '--multiaddr',
      `1=${addr(1)}`,
      '--multiaddr',
      `2=${addr(2)}`,
      '--admin',
      'a.json',
      '--admin',
      admin(2).publicKey,
      '--admin-threshold',
      '2',
      '--siwe-domain',
      'app.example',
      '--chain-id',
      '8453',
      '--out',
      'document.json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toBe('');
    const file = join(root, 'document.json');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(made.stdout).toContain(`Wrote ${file}: a node-set document, not signed yet.`);
    expect(made.stdout).toContain('  Epoch       1, threshold 2 of 3 nodes');
    expect(made.stdout).toContain(
      `qkms admin nodeset sign --document ${file} --admin-key ADMIN_KEY_FILE --out NODESET_FILE`,
    );
    const id = /Node set {4}([0-9a-f]{64})\n/.exec(made.stdout)?.[1];
    expect(id).toBeDefined();

    // The --node order numbers the nodes; their keys are the ones node init made.
    expect(readDocument('document.json')).toEqual({
      qkmsNodeSet: 1,
      epoch: 1,
      threshold: 2,
      nodes: [
        { ...node(1).entry, index: 1, multiaddrs: [addr(1)] },
        { ...node(2).entry, index: 2, multiaddrs: [addr(2)] },
        { ...node(3).entry, index: 3, multiaddrs: [addr(3), `${addr(3)}/ws`] },
      ],
      admins: { threshold: 2, keys: [admin(1).publicKey, admin(2).publicKey] },
      params: { ...DEFAULT_NODE_SET_PARAMS, siweDomain: 'app.example', chainId: 8453 },
    });

    const sign = (key: string, ...more: string[]): Promise<CliRun> =>
      run([
        'admin',
        'nodeset',
        'sign',
        '--document',
        'document.json',
        '--admin-key',
        key,
        '--out',
        'nodeset.json',
        ...more,
      ]);
    const first = await sign('a.key');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Node set    ${id}`);
    const second = await sign('b.key', '--signed', 'nodeset.json');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Valid: nodes can start with it');

    const shown = await run(['admin', 'nodeset', 'show', '--nodeset', 'nodeset.json', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      ok: true,
      nodeSetId: id,
      threshold: 2,
      nodes: [1, 2, 3].map((i) => ({ index: i, peerId: node(i).entry.peerId })),
      admins: { threshold: 2, signers: [0, 1] },
      params: { siweDomain: 'app.example', chainId: 8453 },
    });
  });

  it('--json: one object with the id, the nodes and the next step; the options it was given', async () => {
    const r = await build('j.json', ...TWO(), '--max-clock-skew-ms', '5000', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      ok: true,
      file: join(root, 'j.json'),
      epoch: 1,
      threshold: 2,
      nodes: [
        { index: 1, peerId: node(1).entry.peerId, multiaddrs: [addr(1)] },
        { index: 2, peerId: node(2).entry.peerId, multiaddrs: [addr(2)] },
      ],
      admins: { threshold: 1, count: 1 },
      params: { maxClockSkewMs: 5000 },
      next: `qkms admin nodeset sign --document ${join(root, 'j.json')} --admin-key ADMIN_KEY_FILE --out NODESET_FILE`,
    });
    expect(out.nodeSetId).toMatch(/^[0-9a-f]{64}$/);
    expect(readDocument('j.json')).toMatchObject({ epoch: 1, params: { maxClockSkewMs: 5000 } });

    // The next epoch names this one: --predecessor FILE gives its id and the epoch after it.
    const next = await build('j2.json', ...TWO(), '--predecessor', 'j.json', '--json');
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ epoch: 2, predecessor: out.nodeSetId });
    expect(readDocument('j2.json')).toMatchObject({ epoch: 2, predecessor: out.nodeSetId });
    const wrong = await build('j3.json', ...TWO(), '--predecessor', 'j.json', '--epoch', '3');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /--epoch: expected 2, the epoch after --predecessor .*j\.json, got 3/,
    );
    const none = await build('j3.json', ...TWO(), '--epoch', '3');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^qkms admin nodeset new: --predecessor: expected the nodeSetId/);
  });

  it('entries that carry their index keep it, whatever the --node order', async () => {
    const entry = (i: number, index: number): string =>
      JSON.stringify({ ...node(i).entry, index, multiaddrs: [addr(i)] });
    const args = ['--threshold', '2', '--admin', admin(1).jsonFile];
    const r = await build('indexed.json', ...args, '--node', entry(1, 2), '--node', entry(2, 1));
    expect(r.code, r.stderr).toBe(0);
    expect(readDocument('indexed.json').nodes.map((n) => n.peerId)).toEqual([
      node(2).entry.peerId,
      node(1).entry.peerId,
    ]);

    const mixed = await build('mixed.json', ...args, '--node', entry(1, 2), '--node', node(2).file);
    expect(mixed.code).toBe(3);
    expect(mixed.stderr).toBe(
      `qkms admin nodeset new: --node #2 ${node(2).file}: has no index, but --node #1 (inline JSON) has one; give every --node its index 1..2, or none (their order then numbers them)\n`,
    );
    const twice = await build('twice.json', ...args, '--node', entry(1, 1), '--node', entry(2, 1));
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(
      /--node #2 \(inline JSON\): has index 1, as --node #1 \(inline JSON\) does/,
    );
    expect(existsSync(join(root, 'mixed.json'))).toBe(false);
    expect(existsSync(join(root, 'twice.json'))).toBe(false);
  });

  it('a threshold above the number of nodes: exit 2 naming --threshold and n, nothing written', async () => {
    const r = await build('t3.json', '--threshold', '3', ...TWO().slice(2));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "qkms admin nodeset new: --threshold: expected an integer in [2, 2], at most the 2 --node entries (try 'qkms admin nodeset new --help')\n",
    );
    expect(existsSync(join(root, 't3.json'))).toBe(false);
  });

  it('the same node twice: exit 3 naming both --node flags, nothing written', async () => {
    const r = await build(
      'dup.json',
      '--threshold',
      '2',
      '--node',
      node(1).file,
      '--node',
      node(1).file,
      '--multiaddr',
      `1=${addr(1)}`,
      '--multiaddr',
      `2=${addr(2)}`,
      '--admin',
      admin(1).jsonFile,
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `qkms admin nodeset new: --node #2 ${node(1).file}: peerId: expected a PeerId no other node has (--node #1 ${node(1).file} has it)\n`,
    );
    expect(existsSync(join(root, 'dup.json'))).toBe(false);
  });

  it('an unreadable --node is named with the reason, and its content never printed', async () => {
    const withNode2 = (value: string): string[] => {
      const args = TWO();
      args[5] = value;
      return args;
    };
    const missing = await build('m.json', ...withNode2('nope.json'));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      `qkms admin nodeset new: --node #2 ${join(root, 'nope.json')}: cannot read (ENOENT)\n`,
    );

    // A node's keystore is JSON holding its secrets: refused by what it is.
    const keystore = readFileSync(node(2).keystore, 'utf8');
    const ks = await build('m.json', ...withNode2(node(2).keystore));
    expect(ks.code).toBe(3);
    expect(ks.stderr).toBe(
      `qkms admin nodeset new: --node #2 ${node(2).keystore}: is a node keystore, which holds the node's secrets; pass what 'qkms node init --json' printed instead\n`,
    );
    for (const value of keystore.match(/"[^"]{24,}"/g) ?? []) {
      expect(ks.stderr).not.toContain(value.slice(1, 25));
    }

    // An admin key file is not JSON: V8's parse error would quote it.
    const key = await build('m.json', ...withNode2(admin(1).keyFile));
    expect(key.code).toBe(3);
    expect(key.stderr).toMatch(
      new RegExp(
        `^qkms admin nodeset new: --node #2 ${admin(1).keyFile}: not valid JSON \\(expected what 'qkms node init --json' printed`,
      ),
    );
    expect(key.stderr).not.toContain(admin(1).secret.slice(0, 16));

    const inline = await build(
      'm.json',
      ...withNode2('{"peerId": "x", "secret": "hunter2hunter2"}'),
    );
    expect(inline.code).toBe(3);
    expect(inline.stderr).toMatch(
      /^qkms admin nodeset new: --node #2 \(inline JSON\): expected what/,
    );
    expect(inline.stderr).not.toContain('hunter2');
    expect(existsSync(join(root, 'm.json'))).toBe(false);
  });

  it('an admin key file given as --admin is refused without printing the secret', async () => {
    const args = TWO();
    args[args.length - 1] = admin(1).keyFile;
    const r = await build('s.json', ...args);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^qkms admin nodeset new: --admin #1 .*a\.key: is an admin key file, which holds the admin's secret; pass its public key/,
    );
    expect(r.stderr).not.toContain(admin(1).secret.slice(0, 16));
    expect(existsSync(join(root, 's.json'))).toBe(false);
  });

  it('an entry still holding the placeholder address of node init is refused with the flag that fixes it', async () => {
    const r = await build(
      'p.json',
      ...['--threshold', '2', '--node', node(1).file, '--node', node(2).file],
      ...['--multiaddr', `1=${addr(1)}`, '--admin', admin(1).jsonFile],
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /--node #2 .*entry2\.json: its multiaddrs still hold the placeholder host REPLACE-WITH-THIS-NODE-HOSTNAME of 'qkms node init'; give node 2's address with --multiaddr 2=/,
    );
  });

  it('an existing --out is kept (exit 7) unless --force, and never an input even with --force', async () => {
    writeFileSync(join(root, 'taken.json'), 'mine\n');
    const r = await build('taken.json', ...TWO());
    expect(r.code).toBe(7);
    expect(r.stderr).toBe(
      `qkms admin nodeset new: --out ${join(root, 'taken.json')} already exists; refusing to overwrite it (--force replaces it)\n`,
    );
    expect(readFileSync(join(root, 'taken.json'), 'utf8')).toBe('mine\n');

    const forced = await build('taken.json', ...TWO(), '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readDocument('taken.json').nodes).toHaveLength(2);

    const before = readFileSync(node(1).file, 'utf8');
    const input = await build(node(1).file, ...TWO(), '--force');
    expect(input.code).toBe(7);
    expect(input.stderr).toMatch(
      /--out .*entry1\.json: is --node #1 .*entry1\.json; refusing to overwrite an input/,
    );
    expect(readFileSync(node(1).file, 'utf8')).toBe(before);
  });

  it('is listed by qkms admin --help and prints its usage', async () => {
    const r = await run(['admin', '--help']);
    expect(r.stdout).toMatch(/qkms admin nodeset new\s+build a node-set document/);
    const help = await run(['admin', 'nodeset', 'new', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: qkms admin nodeset new --threshold T --node ENTRY/);
  });

  const usage: [string, () => string[], RegExp][] = [
    ['no --node', () => ['--threshold', '2', '--admin', 'a.json'], /--node ENTRY: required/],
    ['no --admin', () => ['--threshold', '2', '--node', 'entry1.json'], /--admin KEY: required/],
    ['no --threshold', () => TWO().slice(2), /--threshold: required/],
    [
      'a --threshold that is no number',
      () => ['--threshold', 'two', ...TWO().slice(2)],
      /--threshold: expected a whole number, got "two"/,
    ],
    [
      'a malformed --multiaddr',
      () => [...TWO(), '--multiaddr', '/dns4/x/tcp/1'],
      /--multiaddr: expected INDEX=MULTIADDR/,
    ],
    [
      'a --multiaddr for a node not given',
      () => [...TWO(), '--multiaddr', '3=/dns4/x/tcp/1'],
      /--multiaddr 3=…: there is no node 3 \(the nodes are 1\.\.2\)/,
    ],
  ];
  it.each(usage)('%s is a usage error (2)', async (_, args, message) => {
    const r = await build('u.json', ...args());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(root, 'u.json'))).toBe(false);
  });
});
