// Long file: the admin's commands end to end in one process (key new, then
// nodeset sign and show over the files it makes), sharing one set of fixtures.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HYBRID_LENGTHS,
  fromHex,
  nodeSetId,
  parseSignedNodeSetJson,
  requireNativeSuite,
  toHex,
  verifyNodeSetChain,
  type NodeSetDocumentJson,
  type SignedNodeSetJson,
} from '../../protocol/internal.ts';
import { initKeystore } from '../../node/index.ts';
import { runCli, type CliRun } from '../../test/support/cli.ts';

const suite = requireNativeSuite();

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-admin-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function run(argv: readonly string[]): Promise<CliRun> {
  return runCli(argv, { cwd: root });
}

interface AdminKey {
  readonly file: string;
  /** Lower-case hex of the 64-byte seed, as stored. */
  readonly secret: string;
  readonly publicKey: string;
}

/** `qkms admin key new --out NAME --json`, checked to succeed. */
async function newAdminKey(name: string): Promise<AdminKey> {
  const r = await run(['admin', 'key', 'new', '--out', name, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { keyFile: string; publicKey: string };
  const file = join(root, name);
  expect(out.keyFile).toBe(file);
  const secret = readFileSync(file, 'utf8').trim().slice(2);
  return { file, secret, publicKey: out.publicKey };
}

/** A 2-of-2 node document of real node keystores, with these admins. */
function nodeDocument(admins: readonly AdminKey[], adminThreshold: number): NodeSetDocumentJson {
  const nodes = [1, 2].map((index) => {
    const { publicInfo } = initKeystore(join(root, `node${index}`), { suite });
    return {
      index,
      peerId: publicInfo.peerId,
      multiaddrs: [`/dns4/node${index}.example/tcp/7101`],
      kemPublicKey: publicInfo.kemPublicKey,
    };
  });
  return {
    qkmsNodeSet: 1,
    epoch: 1,
    threshold: 2,
    nodes,
    admins: { threshold: adminThreshold, keys: admins.map((a) => a.publicKey) },
    params: {
      maxGrantAgeMs: 120_000,
      maxClockSkewMs: 30_000,
      maxDelegationLifetimeMs: 86_400_000,
      siweDomain: 'app.example',
      chainId: 1,
    },
  };
}

function writeJson(name: string, value: unknown): string {
  const path = join(root, name);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

function readSigned(name: string): SignedNodeSetJson {
  return JSON.parse(readFileSync(join(root, name), 'utf8')) as SignedNodeSetJson;
}

/** Two admins, a 2-of-2 document in doc.json. */
async function twoAdmins(): Promise<{ a: AdminKey; b: AdminKey; doc: NodeSetDocumentJson }> {
  const a = await newAdminKey('a.key');
  const b = await newAdminKey('b.key');
  const doc = nodeDocument([a, b], 2);
  writeJson('doc.json', doc);
  return { a, b, doc };
}

function sign(key: string, out: string, ...more: string[]): Promise<CliRun> {
  return run([
    'admin',
    'nodeset',
    'sign',
    '--document',
    'doc.json',
    '--admin-key',
    key,
    '--out',
    out,
    ...more,
  ]);
}

describe('qkms admin', () => {
  it('--help lists the three commands', async () => {
    const r = await run(['admin', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/qkms admin key new\s+create an admin signing key/);
    expect(r.stdout).toMatch(/qkms admin nodeset sign\s+add this admin's signature/);
    expect(r.stdout).toMatch(/qkms admin nodeset show\s+verify a signed node set/);
    expect((await run(['admin', 'nodeset', '--help'])).stdout).toBe(r.stdout);
  });

  it('without a command, with half of one, or an unknown one, is a usage error (2)', async () => {
    expect((await run(['admin'])).code).toBe(2);
    expect((await run(['admin', 'key'])).code).toBe(2);
    const r = await run(['admin', 'key', 'old']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("qkms admin: unknown command 'key old' (try 'qkms admin --help')\n");
  });

  it('qkms help mentions the admin commands', async () => {
    expect((await run(['help'])).stdout).toContain('qkms admin <command>');
  });

  it.each(['key new', 'nodeset sign', 'nodeset show'])(
    '%s --help prints its usage',
    async (name) => {
      const r = await run(['admin', ...name.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: qkms admin ${name} --`));
    },
  );
});

describe('qkms admin key new', () => {
  it('writes one 0x-hex line of 64 bytes, mode 0600, and prints its public key but not the secret', async () => {
    const r = await run(['admin', 'key', 'new', '--out', 'keys/admin.key']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const file = join(root, 'keys', 'admin.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'keys')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^0x[0-9a-f]{128}\n$/);
    const seed = fromHex(text.slice(2, -1));
    expect(seed).toHaveLength(HYBRID_LENGTHS.seed);

    const publicKey = toHex(suite.hybrid.getPublicKey(seed));
    expect(publicKey).toHaveLength(2 * 1984);
    expect(r.stdout).toContain(`Created ${file} (mode 0600)`);
    // The line to paste into admins.keys: the key in full, as a JSON string.
    expect(r.stdout).toContain(`\n${JSON.stringify(publicKey)}\n`);
    expect(r.stdout).not.toContain(toHex(seed));
    expect(r.stdout).not.toContain(toHex(seed).slice(0, 32));
    expect(readdirSync(join(root, 'keys'))).toEqual(['admin.key']);
  });

  it('--json: one object with the file and the public key, no secret', async () => {
    const key = await newAdminKey('admin.key');
    expect(key.publicKey).toBe(toHex(suite.hybrid.getPublicKey(fromHex(key.secret))));
    const again = await newAdminKey('other.key');
    expect(again.publicKey).not.toBe(key.publicKey);
  });

  it('refuses to overwrite an existing file: exit 3, file untouched', async () => {
    const key = await newAdminKey('admin.key');
    const before = readFileSync(key.file);
    const r = await run(['admin', 'key', 'new', '--out', 'admin.key']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `qkms admin key new: ${key.file} already exists; refusing to replace an admin key (move the file away first if you mean to)\n`,
    );
    expect(readFileSync(key.file)).toEqual(before);
  });

  it('refuses a directory others can write to', async () => {
    chmodSync(root, 0o777);
    const r = await run(['admin', 'key', 'new', '--out', 'admin.key']);
    chmodSync(root, 0o700);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`fix with: chmod 700 ${root}`);
    expect(existsSync(join(root, 'admin.key'))).toBe(false);
  });

  const usage: [string, string[], RegExp][] = [
    ['no --out', [], /--out FILE: required/],
    ['an empty --out', ['--out='], /--out: expected a file/],
    ['a positional', ['--out', 'k', 'extra'], /"extra": unexpected argument/],
    ['an unknown flag', ['--out', 'k', '--force'], /--force: unknown option/],
  ];
  it.each(usage)('%s is a usage error (2)', async (_, args, message) => {
    const r = await run(['admin', 'key', 'new', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("(try 'qkms admin key new --help')");
  });
});

describe('qkms admin nodeset sign and show', () => {
  it('2-of-2: the first signature needs 1 more, the second makes it valid, show prints its id', async () => {
    const { a, b, doc } = await twoAdmins();
    const id = toHex(nodeSetId(suite, doc));

    const first = await sign('a.key', 'nodeset.json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(
      `Signed as admins.keys[0]; wrote ${join(root, 'nodeset.json')}.`,
    );
    expect(first.stdout).toContain(`Node set    ${id}`);
    expect(first.stdout).toContain('Signatures  1 of 2 needed (admins.keys[0])');
    expect(first.stdout).toContain(
      'Not valid yet: needs 1 more signature, from any of admins.keys[1].',
    );
    expect(readSigned('nodeset.json').signatures.map((s) => s.admin)).toEqual([0]);
    const partial = await run(['admin', 'nodeset', 'show', '--nodeset', 'nodeset.json']);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toMatch(/signatures: expected at least 2 admin signatures, got 1/);

    const second = await sign('b.key', 'nodeset.json', '--signed', 'nodeset.json');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Signatures  2 of 2 needed (admins.keys[0], admins.keys[1])');
    expect(second.stdout).toContain('Valid: nodes can start with it');
    const text = readFileSync(join(root, 'nodeset.json'), 'utf8');
    const set = parseSignedNodeSetJson(suite, text);
    expect(set.signers).toEqual([0, 1]);
    expect(toHex(set.id)).toBe(id);
    for (const out of [first.stdout, second.stdout]) {
      expect(out).not.toContain(a.secret);
      expect(out).not.toContain(b.secret);
    }

    const shown = await run(['admin', 'nodeset', 'show', '--nodeset', 'nodeset.json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`  Id          ${id}\n`);
    expect(shown.stdout).toContain('  Threshold   2 of 2 nodes');
    expect(shown.stdout).toContain('  Admins      2 of 2 must sign');
    for (const node of doc.nodes) {
      expect(shown.stdout).toMatch(
        new RegExp(`\\n +${node.index}  ${node.peerId}  ${node.multiaddrs.join(' ')}\\n`),
      );
    }
    const json = await run(['admin', 'nodeset', 'show', '--nodeset', 'nodeset.json', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      nodeSetId: id,
      epoch: 1,
      threshold: 2,
      nodes: doc.nodes,
      admins: { threshold: 2, keys: [a.publicKey, b.publicKey], signers: [0, 1] },
      params: doc.params,
    });
  });

  it('signing again as the same admin replaces its signature', async () => {
    await twoAdmins();
    expect((await sign('b.key', 'nodeset.json')).code).toBe(0);
    const again = await sign('b.key', 'nodeset.json', '--signed', 'nodeset.json');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Signed as admins.keys[1] (replacing its earlier signature)');
    expect(readSigned('nodeset.json').signatures.map((s) => s.admin)).toEqual([1]);
  });

  it('a key that is not among the admins: exit 3 naming the problem, nothing written', async () => {
    await twoAdmins();
    const stranger = await newAdminKey('stranger.key');
    const r = await sign('stranger.key', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^qkms admin nodeset sign: --admin-key .*stranger\.key: its public key [0-9a-f]{16}…[0-9a-f]{16} is not in document\.admins\.keys of .*doc\.json/,
    );
    expect(r.stderr).not.toContain(stranger.secret);
    expect(existsSync(join(root, 'nodeset.json'))).toBe(false);
  });

  it('an admin key file readable by others is refused with the chmod that fixes it', async () => {
    const { a } = await twoAdmins();
    chmodSync(a.file, 0o644);
    const r = await sign('a.key', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `${a.file} has mode 0644, readable or writable by others; fix with: chmod 600 ${a.file}`,
    );
    expect(existsSync(join(root, 'nodeset.json'))).toBe(false);
  });

  it('a malformed admin key file is refused without quoting it', async () => {
    const { a } = await twoAdmins();
    writeFileSync(a.file, `0x${a.secret}\n0x${a.secret}\n`);
    const r = await sign('a.key', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/admin key .*a\.key: expected one line, "0x" and 128 lower-case hex/);
    expect(r.stderr).not.toContain(a.secret.slice(0, 16));
  });

  it('the admin key given as the document is refused without quoting the key', async () => {
    const { a } = await twoAdmins();
    const r = await run([
      'admin',
      'nodeset',
      'sign',
      '--document',
      'a.key',
      '--admin-key',
      'a.key',
      '--out',
      'nodeset.json',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`qkms admin nodeset sign: --document ${a.file}: not valid JSON\n`);
  });

  const badDocuments: [string, (d: NodeSetDocumentJson) => unknown, RegExp][] = [
    [
      't > n',
      (d) => ({ ...d, threshold: 3 }),
      /document\.threshold: expected an integer in \[2, 2\]/,
    ],
    [
      'an admin threshold above the admins',
      (d) => ({ ...d, admins: { ...d.admins, threshold: 3 } }),
      /document\.admins\.threshold/,
    ],
    [
      'a node with a placeholder index',
      (d) => ({ ...d, nodes: [{ ...d.nodes[0], index: 0 }, d.nodes[1]] }),
      /document\.nodes\[0\]\.index/,
    ],
    ['an unknown key', (d) => ({ ...d, comment: 'x' }), /document: expected no key 'comment'/],
  ];
  it.each(badDocuments)('a document with %s: exit 3 naming the field', async (_, change, field) => {
    const { doc } = await twoAdmins();
    writeJson('doc.json', change(doc));
    const r = await sign('a.key', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^qkms admin nodeset sign: --document .*doc\.json: /);
    expect(r.stderr).toMatch(field);
    expect(existsSync(join(root, 'nodeset.json'))).toBe(false);
  });

  it('a signed file given as the document is refused with the hint', async () => {
    await twoAdmins();
    expect((await sign('a.key', 'nodeset.json')).code).toBe(0);
    const r = await run([
      'admin',
      'nodeset',
      'sign',
      '--document',
      'nodeset.json',
      '--admin-key',
      'b.key',
      '--out',
      'out.json',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is a signed node-set file, not a document; give it as --signed FILE/);
  });

  it('--signed for another document is refused, and --out is left alone', async () => {
    const { doc } = await twoAdmins();
    expect((await sign('a.key', 'nodeset.json')).code).toBe(0);
    const before = readFileSync(join(root, 'nodeset.json'));
    writeJson('doc.json', { ...doc, params: { ...doc.params, maxGrantAgeMs: 60_000 } });
    const r = await sign('b.key', 'nodeset.json', '--signed', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /--signed .*nodeset\.json: is node set [0-9a-f]{64}, but --document is [0-9a-f]{64}; they are different documents/,
    );
    expect(readFileSync(join(root, 'nodeset.json'))).toEqual(before);
  });

  it('--signed with a signature that does not verify is refused', async () => {
    await twoAdmins();
    expect((await sign('a.key', 'nodeset.json')).code).toBe(0);
    const file = readSigned('nodeset.json');
    const [s] = file.signatures;
    if (s === undefined) throw new Error('no signature');
    const flipped = `${s.signature.slice(0, -1)}${s.signature.endsWith('0') ? '1' : '0'}`;
    writeJson('nodeset.json', { ...file, signatures: [{ ...s, signature: flipped }] });
    const r = await sign('b.key', 'out.json', '--signed', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the signature of admins\.keys\[0\] does not verify/);
    expect(existsSync(join(root, 'out.json'))).toBe(false);
  });

  it('never writes over the admin key, even through --out', async () => {
    const { a } = await twoAdmins();
    const before = readFileSync(a.file);
    const r = await sign('a.key', 'a.key');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--out .*a\.key: is the admin key file; refusing to overwrite it/);
    expect(readFileSync(a.file)).toEqual(before);
  });

  it('does not replace an existing --out that is not a file of this node set', async () => {
    await twoAdmins();
    const before = readFileSync(join(root, 'doc.json'));
    const r = await sign('a.key', 'doc.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--out .*doc\.json: expected a node-set file .*refusing to overwrite/);
    expect(readFileSync(join(root, 'doc.json'))).toEqual(before);
  });

  it('does not drop the signatures an existing --out holds; with --signed it merges them', async () => {
    await twoAdmins();
    expect((await sign('a.key', 'nodeset.json')).code).toBe(0);
    const before = readFileSync(join(root, 'nodeset.json'));
    const r = await sign('b.key', 'nodeset.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /already holds signatures of admins\.keys\[0\] that would be lost; pass it as --signed/,
    );
    expect(readFileSync(join(root, 'nodeset.json'))).toEqual(before);

    // An existing file of the same node set whose signatures are all kept may be replaced.
    expect((await sign('b.key', 'copy.json', '--signed', 'nodeset.json')).code).toBe(0);
    const r2 = await sign('b.key', 'copy.json', '--signed', 'nodeset.json');
    expect(r2.code, r2.stderr).toBe(0);
    expect(readSigned('copy.json').signatures.map((s) => s.admin)).toEqual([0, 1]);
  });

  const usage: [string, string[], RegExp][] = [
    ['no --document', ['--admin-key', 'k', '--out', 'o'], /--document FILE: required/],
    ['no --admin-key', ['--document', 'd', '--out', 'o'], /--admin-key FILE: required/],
    ['no --out', ['--document', 'd', '--admin-key', 'k'], /--out FILE: required/],
  ];
  it.each(usage)('%s is a usage error (2)', async (_, args, message) => {
    const r = await run(['admin', 'nodeset', 'sign', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('show: a missing file, a tampered one, or no --nodeset', async () => {
    const missing = await run(['admin', 'nodeset', 'show', '--nodeset', 'nope.json']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/--nodeset .*nope\.json: cannot read \(ENOENT\)/);

    const { doc } = await twoAdmins();
    expect((await sign('a.key', 'n.json')).code).toBe(0);
    expect((await sign('b.key', 'n.json', '--signed', 'n.json')).code).toBe(0);
    const file = readSigned('n.json');
    writeJson('n.json', {
      ...file,
      document: { ...doc, params: { ...doc.params, maxGrantAgeMs: 60_000 } },
    });
    const tampered = await run(['admin', 'nodeset', 'show', '--nodeset', 'n.json']);
    expect(tampered.code).toBe(3);
    expect(tampered.stderr).toMatch(/signatures\[0\]\.signature: expected a valid signature/);

    expect((await run(['admin', 'nodeset', 'show'])).code).toBe(2);
  });
});

describe('qkms admin nodeset sign: a successor (epoch 2)', () => {
  /**
   * A valid first set of admins a and b, `oldThreshold` of 2 (default 2), in
   * old.json, and a successor document of it in doc.json.
   */
  async function successor(oldThreshold = 2): Promise<{
    a: AdminKey;
    b: AdminKey;
    c: AdminKey;
    old: string;
    oldId: Uint8Array;
    first: NodeSetDocumentJson;
  }> {
    const { a, b, doc: twoOfTwo } = await twoAdmins();
    const doc = { ...twoOfTwo, admins: { ...twoOfTwo.admins, threshold: oldThreshold } };
    writeJson('doc.json', doc);
    expect((await sign('a.key', 'old.json')).code).toBe(0);
    expect((await sign('b.key', 'old.json', '--signed', 'old.json')).code).toBe(0);
    const oldText = readFileSync(join(root, 'old.json'), 'utf8');
    const oldSet = parseSignedNodeSetJson(suite, oldText);
    // The successor keeps admin a and adds c; its own threshold is 1.
    const c = await newAdminKey('c.key');
    const next = {
      ...doc,
      epoch: 2,
      predecessor: toHex(oldSet.id),
      admins: { threshold: 1, keys: [a.publicKey, c.publicKey] },
    };
    writeJson('doc.json', next);
    return { a, b, c, old: 'old.json', oldId: oldSet.id, first: doc };
  }

  it('admin a (in both sets) signs both lists; admin b completes the predecessor signatures: valid, and the chain verifies', async () => {
    const { oldId } = await successor();
    const first = await sign('a.key', 'next.json', '--predecessor', 'old.json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("Signed as admins.keys[0] and the predecessor's admins.keys[0]");
    expect(first.stdout).toContain('Predecessor signatures  1 of 2 needed (admins.keys[0])');
    expect(first.stdout).toContain(
      "Not valid yet: needs 1 more predecessor signature, from any of the predecessor's admins.keys[1].",
    );
    const second = await sign(
      'b.key',
      'next.json',
      '--predecessor',
      'old.json',
      '--signed',
      'next.json',
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("Signed as the predecessor's admins.keys[1]");
    expect(second.stdout).toContain('Valid: a successor of');
    const file = readSigned('next.json');
    expect(file.signatures.map((s) => s.admin)).toEqual([0]);
    expect(file.predecessorSignatures?.map((s) => s.admin)).toEqual([0, 1]);
    const oldSet = parseSignedNodeSetJson(suite, readFileSync(join(root, 'old.json'), 'utf8'));
    expect(toHex(oldSet.id)).toBe(toHex(oldId));
    expect(verifyNodeSetChain(suite, oldSet, [file]).epoch).toBe(2);
  });

  it('one signature by an admin of both sets (1 of 2 old admins needed) makes it valid, and the chain verifies', async () => {
    await successor(1);
    const r = await sign('a.key', 'next.json', '--predecessor', 'old.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Signed as admins.keys[0] and the predecessor's admins.keys[0]");
    expect(r.stdout).toContain('Signatures  1 of 1 needed (admins.keys[0])');
    expect(r.stdout).toContain('Predecessor signatures  1 of 1 needed (admins.keys[0])');
    expect(r.stdout).toContain('Valid: a successor of');
    const file = readSigned('next.json');
    expect(file.signatures.map((s) => s.admin)).toEqual([0]);
    expect(file.predecessorSignatures?.map((s) => s.admin)).toEqual([0]);
    const oldSet = parseSignedNodeSetJson(suite, readFileSync(join(root, 'old.json'), 'utf8'));
    expect(verifyNodeSetChain(suite, oldSet, [file]).epoch).toBe(2);
  });

  it('an admin of the predecessor only adds a predecessor signature; the output names who can add the rest', async () => {
    await successor();
    const r = await sign('b.key', 'next.json', '--predecessor', 'old.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Signed as the predecessor's admins.keys[1];");
    expect(r.stdout).toContain('Signatures  0 of 1 needed (none)');
    expect(r.stdout).toContain('Predecessor signatures  1 of 2 needed (admins.keys[1])');
    expect(r.stdout).toContain(
      "Not valid yet: needs 1 more signature, from any of admins.keys[0], admins.keys[1]; and 1 more predecessor signature, from any of the predecessor's admins.keys[0].",
    );
    const file = readSigned('next.json');
    expect(file.signatures).toEqual([]);
    expect(file.predecessorSignatures?.map((s) => s.admin)).toEqual([1]);
  });

  it('a key that is an admin of neither set: exit 3 naming both, nothing written', async () => {
    const { oldId } = await successor();
    await newAdminKey('d.key');
    const r = await sign('d.key', 'next.json', '--predecessor', 'old.json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /is an admin neither of .*doc\.json nor of its predecessor [0-9a-f]{64}/,
    );
    expect(r.stderr).toContain(toHex(oldId));
    expect(existsSync(join(root, 'next.json'))).toBe(false);
  });

  it('a successor whose epoch is not the one after its predecessor’s: exit 3 for an admin of either set, nothing written', async () => {
    const { oldId } = await successor();
    // As 'nodeset new --predecessor ID --epoch 3' makes it: a document of epoch 3 naming the epoch 1 set.
    const next = JSON.parse(readFileSync(join(root, 'doc.json'), 'utf8')) as NodeSetDocumentJson;
    writeJson('doc.json', { ...next, epoch: 3, predecessor: toHex(oldId) });
    // a is an admin of both sets, b of the predecessor only, c of the successor only.
    for (const key of ['a.key', 'b.key', 'c.key']) {
      const r = await sign(key, 'next.json', '--predecessor', 'old.json');
      expect(r.code, key).toBe(3);
      expect(r.stderr).toMatch(
        /doc\.json: epoch: expected 2, the epoch after its predecessor's .* got 3/,
      );
    }
    expect(existsSync(join(root, 'next.json'))).toBe(false);
  });

  it('re-signing keeps the other admins’ predecessor signatures and replaces its own', async () => {
    await successor();
    expect((await sign('a.key', 'next.json', '--predecessor', 'old.json')).code).toBe(0);
    expect(
      (await sign('b.key', 'next.json', '--predecessor', 'old.json', '--signed', 'next.json')).code,
    ).toBe(0);
    const again = await sign(
      'a.key',
      'next.json',
      '--predecessor',
      'old.json',
      '--signed',
      'next.json',
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('(replacing its earlier signature)');
    expect(readSigned('next.json').predecessorSignatures?.map((s) => s.admin)).toEqual([0, 1]);
  });

  it('a predecessor signature that does not verify, a missing or wrong --predecessor, or one on a first-epoch document: exit 3', async () => {
    const { first: firstDoc } = await successor();
    expect((await sign('a.key', 'next.json', '--predecessor', 'old.json')).code).toBe(0);
    const file = readSigned('next.json');
    const forged = file.predecessorSignatures?.[0];
    writeJson('forged.json', {
      ...file,
      predecessorSignatures: [{ admin: 1, signature: forged?.signature ?? '' }],
    });
    const bad = await sign(
      'a.key',
      'out.json',
      '--predecessor',
      'old.json',
      '--signed',
      'forged.json',
    );
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(
      /the predecessor signature of the predecessor's admins\.keys\[1\] does not verify/,
    );

    const missing = await sign('a.key', 'out.json');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/--predecessor NODESET: required: .* follows node set/);

    const wrong = await sign('a.key', 'out.json', '--predecessor', 'next.json');
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/is node set [0-9a-f]{64}, but .* follows [0-9a-f]{64}/);

    writeJson('doc.json', firstDoc);
    const first = await sign('a.key', 'out.json', '--predecessor', 'old.json');
    expect(first.code).toBe(3);
    expect(first.stderr).toMatch(/is a first-epoch document; it follows no node set/);
    expect(existsSync(join(root, 'out.json'))).toBe(false);
  });
});
