// `qkms content publish` and `qkms content recover`: the library's publish
// and recover behind files. A CEK is read from and written to files (one line
// of hex, mode 0600) and never printed; progress goes to stderr, results to
// stdout (--json for machines).
import {
  ADDRESS_BYTES,
  ErrorCode,
  defaultSuite,
  toHex,
  wipe,
  type AccessPolicy,
} from '../../protocol/index.ts';
import { RecoverError } from '../errors.ts';
import { QuorumClient } from '../quorum-client.ts';
import type { NodeReport } from '../report.ts';
import { Session } from '../session.ts';
import { loadManifest, loadNodeSet, loadWallet, saveManifest } from './files.ts';
import {
  CLIENT_EXIT,
  parseFlags as parse,
  parseHexLine,
  readSecretFile,
  requiredFlag as required,
  usageError,
  writeSecretFile,
  type ClientCliIo,
} from './io.ts';

/** A CLI session lives for one command; the minimum the library allows is plenty. */
const CLI_SESSION_LIFETIME_MS = 10 * 60_000;

export const PUBLISH_USAGE = `Usage: qkms content publish --quorum FILE --wallet-key FILE --cek-out FILE --out MANIFEST
                            [--content-id HEX] [--policy open|publisher-only|allowlist:0x..,0x..] [--cek-in FILE] [--json]

Generates a content key (or reads --cek-in), splits it across the quorum,
seals each share to its node, and writes the manifest to MANIFEST and the key
to --cek-out (one line of hex, mode 0600; never printed).`;

export const RECOVER_USAGE = `Usage: qkms content recover --quorum FILE --manifest FILE --wallet-key FILE --out FILE [--json]

Recovers the content key of MANIFEST from the quorum with the wallet's grant,
checks it against the manifest's commitment, and writes it to --out (one line
of hex, mode 0600; never printed).

Exit codes: 0 recovered, 2 usage, 3 bad file, 4 not enough good shares
(nodes down, slow or lying), 5 refused (policy, delegation, capability),
6 revoked.`;

export function parsePolicy(text: string | undefined): AccessPolicy {
  if (text === undefined || text === 'open') return { kind: 'open' };
  if (text === 'publisher-only') return { kind: 'publisher-only' };
  if (text.startsWith('allowlist:')) {
    const addresses = text
      .slice('allowlist:'.length)
      .split(',')
      .map((a) => {
        if (!/^0x[0-9a-fA-F]{40}$/.test(a))
          throw usageError(`--policy: ${JSON.stringify(a)} is not an address (0x + 40 hex)`);
        return Uint8Array.from(a.slice(2).match(/../g) ?? [], (b) => Number.parseInt(b, 16));
      });
    if (addresses.length === 0 || addresses.some((a) => a.length !== ADDRESS_BYTES))
      throw usageError('--policy: allowlist needs addresses');
    return { kind: 'allowlist', addresses };
  }
  throw usageError('--policy: expected open, publisher-only or allowlist:0x..,0x..');
}

function reportLines(report: readonly NodeReport[]): string {
  return report
    .map(
      (r) =>
        `  node ${r.index}  ${r.outcome}${r.code === undefined ? '' : ` (${r.code})`}${r.ms === undefined ? '' : `  ${Math.round(r.ms)} ms`}`,
    )
    .join('\n');
}

export async function contentPublish(argv: readonly string[], io: ClientCliIo): Promise<number> {
  const v = parse(argv, {
    quorum: { type: 'string' },
    'wallet-key': { type: 'string' },
    'content-id': { type: 'string' },
    policy: { type: 'string' },
    'cek-in': { type: 'string' },
    'cek-out': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (v.help === true) {
    io.stdout.write(`${PUBLISH_USAGE}\n`);
    return CLIENT_EXIT.ok;
  }
  const suite = defaultSuite();
  const nodeSet = loadNodeSet(io, suite, required(v.quorum, 'quorum'));
  const wallet = loadWallet(io, required(v['wallet-key'], 'wallet-key'));
  const cekOut = required(v['cek-out'], 'cek-out');
  const out = required(v.out, 'out');
  const policy = parsePolicy(v.policy);
  const contentId =
    v['content-id'] === undefined ? undefined : parseHexLine(v['content-id'], '--content-id', 32);
  const cekIn =
    v['cek-in'] === undefined
      ? undefined
      : parseHexLine(readSecretFile(io, v['cek-in'], 'CEK file'), `CEK file ${v['cek-in']}`, 32);
  io.stderr.write(`publishing to ${nodeSet.nodes.length} nodes (t = ${nodeSet.threshold})…\n`);
  const session = await Session.create({
    wallet,
    nodeSet,
    capabilities: { actions: ['publish', 'recover'], content: 'all' },
    lifetimeMs: CLI_SESSION_LIFETIME_MS,
  });
  const client = await QuorumClient.create({ nodeSet });
  try {
    const result = await client.publish(session, {
      policy,
      ...(cekIn === undefined ? {} : { cek: cekIn }),
      ...(contentId === undefined ? {} : { contentId }),
    });
    try {
      const stored = result.receipts.filter((r) => r.outcome === 'ok').length;
      const cekPath = writeSecretFile(io, cekOut, `${toHex(result.cek)}\n`);
      const manifestPath = saveManifest(io, out, result.manifest);
      if (v.json === true) {
        io.stdout.write(
          `${JSON.stringify({ contentId: toHex(result.manifest.body.contentId), manifest: manifestPath, cekFile: cekPath, stored, nodes: result.receipts })}\n`,
        );
      } else {
        io.stdout.write(
          `published ${toHex(result.manifest.body.contentId).slice(0, 16)}… to ${stored} of ${nodeSet.nodes.length} nodes\n` +
            `${reportLines(result.receipts)}\nmanifest: ${manifestPath}\ncontent key: ${cekPath} (mode 0600)\n`,
        );
      }
      return stored >= nodeSet.threshold ? CLIENT_EXIT.ok : CLIENT_EXIT.unavailable;
    } finally {
      wipe(result.cek, cekIn);
    }
  } finally {
    session.destroy();
    await client.close();
  }
}

export async function contentRecover(argv: readonly string[], io: ClientCliIo): Promise<number> {
  const v = parse(argv, {
    quorum: { type: 'string' },
    manifest: { type: 'string' },
    'wallet-key': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (v.help === true) {
    io.stdout.write(`${RECOVER_USAGE}\n`);
    return CLIENT_EXIT.ok;
  }
  const suite = defaultSuite();
  const nodeSet = loadNodeSet(io, suite, required(v.quorum, 'quorum'));
  const manifest = loadManifest(io, required(v.manifest, 'manifest'));
  const wallet = loadWallet(io, required(v['wallet-key'], 'wallet-key'));
  const out = required(v.out, 'out');
  const session = await Session.create({
    wallet,
    nodeSet,
    capabilities: { actions: ['recover'], content: [manifest.body.contentId] },
    lifetimeMs: CLI_SESSION_LIFETIME_MS,
  });
  const client = await QuorumClient.create({ nodeSet });
  try {
    const { cek, report } = await client.recover(manifest, session);
    try {
      const path = writeSecretFile(io, out, `${toHex(cek)}\n`);
      io.stdout.write(
        v.json === true
          ? `${JSON.stringify({ contentId: toHex(manifest.body.contentId), cekFile: path, nodes: report })}\n`
          : `recovered the content key of ${toHex(manifest.body.contentId).slice(0, 16)}… into ${path} (mode 0600)\n${reportLines(report)}\n`,
      );
      return CLIENT_EXIT.ok;
    } finally {
      cek.fill(0);
    }
  } catch (e) {
    if (!(e instanceof RecoverError)) throw e;
    const revoked = e.reason === 'revoked' || e.report.some((r) => r.code === ErrorCode.REVOKED);
    const denied = e.report.filter((r) => r.outcome === 'rejected').length > 0 && !revoked;
    io.stderr.write(`qkms content recover: failed: ${e.message}\n${reportLines(e.report)}\n`);
    if (v.json === true)
      io.stdout.write(`${JSON.stringify({ error: e.reason, nodes: e.report })}\n`);
    return revoked ? CLIENT_EXIT.revoked : denied ? CLIENT_EXIT.denied : CLIENT_EXIT.unavailable;
  } finally {
    session.destroy();
    await client.close();
  }
}
