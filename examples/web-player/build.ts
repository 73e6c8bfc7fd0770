// Builds the web player (README.md): synthesizes a short clip, encrypts it
// with a fresh content key (clip.ts), publishes the key to the quorum with the
// client library, and writes the page, its script, the client bundle, the
// encrypted clip, the manifest and the node set into one folder to serve.
//   npx node examples/web-player/build.ts [--quorum .qkms/quorum.json] [--out build/web-player]
//       [--wallet-key FILE] [--allow 0xADDRESS,…] [--json]
// The content key is wiped once published and is never printed or written.
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Secp256k1 } from 'ox';
import { buildBrowserBundle } from '../../deploy/packages/browser-bundle.ts';
import { QuorumClient, Session, walletFromPrivateKey } from '../../client/index.ts';
import {
  CEK_BYTES,
  ID_BYTES,
  defaultSuite,
  encodeManifest,
  fromHex,
  parseSignedNodeSetJson,
  toHex,
  wipe,
  type AccessPolicy,
  type Manifest,
  type NodeSet,
} from '../../protocol/index.ts';
import {
  CLIP_CHUNK_BYTES,
  CLIP_MEDIA_TYPE,
  encryptClip,
  sha256Hex,
  synthesizeClip,
} from './clip.ts';

const HERE = import.meta.dirname;
/** The files the page needs, as build.ts writes them and serve.ts serves them. */
export const PAGE_FILES = [
  'index.html',
  'player.js',
  'qkms-client.js',
  'clip.enc',
  'manifest.json',
  'nodeset.json',
] as const;
/** manifest.json's format: the one `qkms content publish --out` writes (docs/integration.md). */
const MANIFEST_FILE_FORMAT = 1;
/** Publishing takes seconds; the session lives as long as the CLI's do. */
const PUBLISH_SESSION_LIFETIME_MS = 10 * 60_000;
const USAGE = `Usage: npx node examples/web-player/build.ts [--quorum FILE] [--out DIR] [--wallet-key FILE] [--allow 0xADDR,…] [--json]

  --quorum FILE       the quorum file of \`npm start\` (default .qkms/quorum.json), or a signed node set
  --out DIR           where the page goes (default build/web-player); its files are replaced
  --wallet-key FILE   the publisher's wallet key (\`qkms wallet new\`; default: a new key for this build, not kept)
  --allow 0xADDR,…    only these wallets may play (policy allowlist; default: open, any wallet)
  --json              print one JSON object (never the key)`;

export interface BuildReport {
  readonly ok: boolean;
  readonly out: string;
  readonly contentId: string;
  readonly publisher: string;
  readonly policy: AccessPolicy['kind'];
  readonly threshold: number;
  readonly nodeCount: number;
  /** Indexes of the nodes that returned a signed receipt. */
  readonly stored: readonly number[];
  /** What each node did with its share: `ok` (a signed receipt), or why not. */
  readonly nodes: readonly { index: number; outcome: string; code?: string }[];
  readonly clip: {
    readonly bytes: number;
    readonly chunks: number;
    readonly chunkBytes: number;
    readonly sha256: string;
  };
}

function usage(message: string): never {
  process.stderr.write(`web-player build: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** quorum.json of `npm start` ({ nodeSet, … }), or a signed node set file itself. */
function readNodeSet(path: string): { json: unknown; nodeSet: NodeSet } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path}: not a readable JSON file (start a quorum first: npm start)`);
  }
  const json =
    typeof parsed === 'object' && parsed !== null && 'nodeSet' in parsed ? parsed.nodeSet : parsed;
  return { json, nodeSet: parseSignedNodeSetJson(defaultSuite(), JSON.stringify(json)) };
}

function policyOf(allow: string | undefined): AccessPolicy {
  if (allow === undefined) return { kind: 'open' };
  const addresses = allow.split(',').map((a) => {
    if (!/^0x[0-9a-fA-F]{40}$/.test(a))
      throw new Error(`--allow: ${JSON.stringify(a)} is not an address`);
    return fromHex(a.slice(2).toLowerCase());
  });
  return { kind: 'allowlist', addresses };
}

/** The publisher's wallet: a key file (one line of 0x hex, mode 0600) or a new key. */
function publisherWallet(path: string | undefined): ReturnType<typeof walletFromPrivateKey> {
  if (path === undefined) return walletFromPrivateKey(Secp256k1.randomPrivateKey());
  if ((statSync(path).mode & 0o077) !== 0)
    throw new Error(`${path}: others may read it (chmod 600 it)`);
  return walletFromPrivateKey(readFileSync(path, 'utf8').trim());
}

function manifestFile(manifest: Manifest): string {
  const file = {
    qkmsManifest: MANIFEST_FILE_FORMAT,
    contentId: toHex(manifest.body.contentId),
    threshold: manifest.body.threshold,
    shares: manifest.body.shares,
    policy: manifest.body.policy.kind,
    cbor: toHex(encodeManifest(manifest)),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export async function buildWebPlayer(options: {
  quorum: string;
  out: string;
  walletKey?: string | undefined;
  allow?: string | undefined;
  log: (line: string) => void;
}): Promise<BuildReport> {
  const { json: nodeSetJson, nodeSet } = readNodeSet(options.quorum);
  const policy = policyOf(options.allow);
  const wallet = publisherWallet(options.walletKey);
  const browserReachable = nodeSet.nodes.filter((n) => n.multiaddrs.some((a) => a.endsWith('/ws')));
  if (browserReachable.length < nodeSet.threshold)
    options.log(
      `warning: only ${browserReachable.length} of ${nodeSet.nodes.length} nodes list a WebSocket address (/ws or /tls/ws); a browser needs ${nodeSet.threshold}`,
    );

  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  for (const file of ['index.html', 'player.js']) copyFileSync(join(HERE, file), join(out, file));
  await buildBrowserBundle(join(out, 'qkms-client.js'));
  writeFileSync(join(out, 'nodeset.json'), `${JSON.stringify(nodeSetJson, null, 2)}\n`);

  const clip = synthesizeClip();
  const suite = defaultSuite();
  const contentId = suite.randomBytes(ID_BYTES);
  const session = await Session.create({
    wallet,
    nodeSet,
    capabilities: { actions: ['publish'], content: [contentId] },
    lifetimeMs: PUBLISH_SESSION_LIFETIME_MS,
  });
  let client: QuorumClient | undefined;
  const cek = suite.randomBytes(CEK_BYTES);
  try {
    client = await QuorumClient.create({ nodeSet });
    const encrypted = encryptClip(cek, contentId, clip);
    writeFileSync(join(out, 'clip.enc'), encrypted.bytes);
    const { receipts } = await client.publish(session, {
      cek,
      contentId,
      policy,
      // As the CLI does: the manifest is on disk before any node holds a share.
      beforeSend: ({ manifest }) => {
        writeFileSync(join(out, 'manifest.json'), manifestFile(manifest));
      },
    });
    const stored = receipts.filter((r) => r.outcome === 'ok').map((r) => r.index);
    return {
      ok: stored.length >= nodeSet.threshold,
      out,
      contentId: toHex(contentId),
      publisher: wallet.address,
      policy: policy.kind,
      threshold: nodeSet.threshold,
      nodeCount: nodeSet.nodes.length,
      stored,
      nodes: receipts.map(({ index, outcome, code }) => ({
        index,
        outcome,
        ...(code === undefined ? {} : { code }),
      })),
      clip: {
        bytes: clip.length,
        chunks: encrypted.chunks,
        chunkBytes: CLIP_CHUNK_BYTES,
        sha256: sha256Hex(clip),
      },
    };
  } finally {
    wipe(cek);
    session.destroy();
    await client?.close();
  }
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quorum: { type: 'string', default: '.qkms/quorum.json' },
        out: { type: 'string', default: join('build', 'web-player') },
        'wallet-key': { type: 'string' },
        allow: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let report: BuildReport;
  try {
    report = await buildWebPlayer({
      quorum: values.quorum,
      out: values.out,
      walletKey: values['wallet-key'],
      allow: values.allow,
      log: (line) => process.stderr.write(`web-player build: ${line}\n`),
    });
  } catch (e) {
    // qkms errors name what was wrong, never a key or a share.
    process.stderr.write(`web-player build: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
    return;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const c = report.clip;
    process.stdout.write(
      [
        `clip: ${c.bytes} bytes of ${CLIP_MEDIA_TYPE}, ${c.chunks} chunks of ${c.chunkBytes / 1024} KiB, sha256 ${c.sha256}`,
        // Identifiers abbreviated here; --json carries them whole.
        `published content ${report.contentId.slice(0, 16)}… (policy ${report.policy}, publisher ${report.publisher.slice(0, 10)}…)`,
        `stored at ${report.stored.length} of ${report.nodeCount} nodes (t = ${report.threshold}): ${report.ok ? 'recoverable' : 'NOT recoverable'}`,
        ...report.nodes.map(
          (n) => `  node ${n.index}: ${n.outcome}${n.code === undefined ? '' : ` ${n.code}`}`,
        ),
        `wrote ${PAGE_FILES.join(', ')} to ${report.out}`,
        `next: npx node examples/web-player/serve.ts --out ${report.out}`,
      ].join('\n') + '\n',
    );
  }
  if (!report.ok) process.exitCode = 1;
}

if (import.meta.main) await main();
