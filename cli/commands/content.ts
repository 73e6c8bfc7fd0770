// `qkms content publish` and `qkms content recover`: the library's publish
// and recover behind files. A CEK is read from and written to files (one line
// of hex, mode 0600) and never printed; progress goes to stderr, results to
// stdout (--json for machines). Output files are checked before any node is
// asked, and publish writes its manifest and key before any share leaves.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ErrorCode,
  defaultSuite,
  isRejectionCode,
  rejectionAction,
  toHex,
  wipe,
} from '../../protocol/index.ts';
import { RecoverError } from '../../client/index.ts';
import { QuorumClient } from '../../client/index.ts';
import { Session } from '../../client/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import {
  checkNewOutput,
  loadManifest,
  loadWallet,
  readKeyFile,
  saveManifest,
  writeNewOutput,
} from '../files.ts';
import { whenSlow } from '../progress.ts';
import { isPolicyFile, parsePolicy } from './content-policy.ts';
import {
  nextManifestPath,
  nodeList,
  placement,
  reportLines,
  shellWord,
} from './content-outcome.ts';
import {
  QUORUM_FLAG_HELP,
  loadQuorum,
  loadQuorumNodeSet,
  resolveQuorumFile,
} from '../quorum-file.ts';
import {
  CommandFailure,
  OutputFileError,
  noPositionals,
  parseHexLine,
  printJson,
  requiredFlag as required,
  usageError,
  type CliIo,
} from '../io.ts';

/** A CLI session lives for one command; the minimum the library allows is plenty. */
const CLI_SESSION_LIFETIME_MS = 10 * 60_000;

export const PUBLISH_USAGE = `Usage: qkms content publish [--quorum FILE] --wallet-key FILE --out MANIFEST (--cek-out FILE | --cek-in FILE)
                            [--content-id HEX] [--policy open|publisher-only|allowlist:0x..,0x..|FILE.json] [--json]

Generates a content key (or reads --cek-in), splits it across the quorum,
seals each share to its node, and sends each node its share.

${QUORUM_FLAG_HELP}

The files come first. MANIFEST and --cek-out (the key: one line of hex, mode
0600; never printed) must not exist yet, and their folders must; both are
checked before anything else, and written (whole, never over an existing
file) before any node is asked. So whatever the nodes do, the manifest of
every share they stored is on disk. With --cek-in, --cek-out may be left out.

--policy says who may recover: open (anyone, the default), publisher-only,
allowlist:ADDR,..., or a condition file (FILE.json: balances, contract
calls, time windows, and/or/not; docs/policies.md). A condition file is
checked here as every node checks it; a node refuses a policy on a chain it
does not follow (POLICY_UNSUPPORTED), so such content is not published.

Then it prints what each node did: stored (a signed receipt), refused
(nothing stored), or unconfirmed (no answer or no valid receipt: it may hold
its share). Unless every node stored it, it prints how to finish: the same
content id and key published again to a new manifest file, which replaces
this manifest at every node it reaches (ship the new one).

--json prints one object: contentId, manifest, cekFile, threshold,
nodeCount, recoverable, complete, stored, refused, unconfirmed, finish (the
command, as words, when not complete) and nodes (each node's outcome and its
signed receipt, bytes as hex).

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.unavailable, EXIT.output], {
  [EXIT.ok]: 'stored at t nodes or more (recoverable)',
  [EXIT.config]: 'a bad input file (quorum, wallet key, --cek-in)',
  [EXIT.unavailable]: 'stored at fewer than t nodes: not recoverable yet (the files are written)',
  [EXIT.output]: 'an output file exists or its folder is missing (nothing was sent)',
})}`;

export const RECOVER_USAGE = `Usage: qkms content recover [--quorum FILE] --manifest FILE --wallet-key FILE --out FILE [--json]

Recovers the content key of MANIFEST from the quorum with the wallet's grant,
checks it against the manifest's commitment, and writes it to --out (one line
of hex, mode 0600; never printed).

${QUORUM_FLAG_HELP}

--out must not exist yet, and its folder must: checked before any node is
asked.

--json prints {"ok": true, "contentId", "cekFile", "nodes"} (never the key);
a failure {"ok": false, "exit", "error", "reason", "nodes"}.

${exitCodeHelp(
  [
    EXIT.ok,
    EXIT.failure,
    EXIT.usage,
    EXIT.config,
    EXIT.unavailable,
    EXIT.denied,
    EXIT.revoked,
    EXIT.output,
  ],
  {
    [EXIT.ok]: 'recovered',
    [EXIT.unavailable]: 'not enough good shares (nodes down, slow or lying)',
    [EXIT.output]: '--out exists or its folder is missing (nothing was sent)',
  },
)}`;

export const PUBLISH_FLAGS = {
  quorum: 'string',
  'wallet-key': 'string',
  'content-id': 'string',
  policy: 'string',
  'cek-in': 'string',
  'cek-out': 'string',
  out: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

export const RECOVER_FLAGS = {
  quorum: 'string',
  manifest: 'string',
  'wallet-key': 'string',
  out: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

function nothingSent(e: OutputFileError): OutputFileError {
  return new OutputFileError(`${e.message}. Nothing was sent to any node.`, { cause: e });
}

export async function contentPublish(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, PUBLISH_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${PUBLISH_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const quorum = resolveQuorumFile(io, v.quorum);
  const quorumPath = quorum.path;
  const walletPath = required(v['wallet-key'], 'wallet-key');
  const out = required(v.out, 'out');
  const cekOut = v['cek-out'];
  if (cekOut === undefined && v['cek-in'] === undefined)
    throw usageError('--cek-out: required (unless --cek-in names the key file)');
  if (cekOut !== undefined && resolve(io.cwd, cekOut) === resolve(io.cwd, out))
    throw usageError('--out and --cek-out name the same file');
  const policy = parsePolicy(v.policy, io);
  const contentId =
    v['content-id'] === undefined ? undefined : parseHexLine(v['content-id'], '--content-id', 32);
  // Every output, before anything is read from the network or sent to it.
  let manifestPath: string;
  let cekPath: string | undefined;
  try {
    manifestPath = checkNewOutput(io, out, '--out');
    cekPath = cekOut === undefined ? undefined : checkNewOutput(io, cekOut, '--cek-out');
  } catch (e) {
    throw e instanceof OutputFileError ? nothingSent(e) : e;
  }
  const suite = defaultSuite();
  const nodeSet = loadQuorumNodeSet(io, suite, quorum);
  const wallet = loadWallet(io, walletPath);
  const cekInPath = v['cek-in'] === undefined ? undefined : resolve(io.cwd, v['cek-in']);
  const cekIn =
    cekInPath === undefined
      ? undefined
      : parseHexLine(readKeyFile(io, cekInPath, 'CEK file'), `CEK file ${cekInPath}`, 32);
  io.stderr.write(`publishing to ${nodeSet.nodes.length} nodes (t = ${nodeSet.threshold})…\n`);
  const session = await Session.create({
    wallet,
    nodeSet,
    capabilities: { actions: ['publish', 'recover'], content: 'all' },
    lifetimeMs: CLI_SESSION_LIFETIME_MS,
  });
  const client = await QuorumClient.create({ nodeSet });
  try {
    let result;
    try {
      result = await client.publish(session, {
        policy,
        ...(cekIn === undefined ? {} : { cek: cekIn }),
        ...(contentId === undefined ? {} : { contentId }),
        // The manifest and the key reach the disk before any share leaves.
        beforeSend: ({ manifest, cek }) => {
          saveManifest(io, manifestPath, manifest);
          if (cekPath === undefined) return;
          try {
            writeNewOutput(io, cekPath, `${toHex(cek)}\n`, { label: '--cek-out', secret: true });
          } catch (e) {
            rmSync(manifestPath, { force: true });
            throw e;
          }
        },
      });
    } catch (e) {
      wipe(cekIn);
      throw e instanceof OutputFileError ? nothingSent(e) : e;
    }
    try {
      const id = toHex(result.manifest.body.contentId);
      const n = nodeSet.nodes.length;
      const t = nodeSet.threshold;
      const placed = placement(result.receipts);
      const recoverable = placed.stored.length >= t;
      const complete = placed.stored.length === n;
      const keyFile = cekPath ?? cekInPath ?? '';
      const finish = complete
        ? undefined
        : [
            'qkms',
            'content',
            'publish',
            '--quorum',
            resolve(io.cwd, quorumPath),
            '--wallet-key',
            resolve(io.cwd, walletPath),
            '--content-id',
            id,
            '--cek-in',
            keyFile,
            ...(v.policy === undefined
              ? []
              : ['--policy', isPolicyFile(v.policy) ? resolve(io.cwd, v.policy) : v.policy]),
            '--out',
            nextManifestPath(io, manifestPath),
          ];
      if (v.json === true) {
        printJson(io, {
          ok: recoverable,
          contentId: id,
          manifest: manifestPath,
          cekFile: keyFile,
          threshold: t,
          nodeCount: n,
          recoverable,
          complete,
          stored: placed.stored,
          refused: placed.refused,
          unconfirmed: placed.unconfirmed,
          ...(finish === undefined ? {} : { finish }),
          // Each node's outcome and signed receipt; its bytes print as hex.
          nodes: result.receipts,
        });
      } else {
        const headline =
          placed.stored.length === 0
            ? `no node confirmed storing a share of ${id.slice(0, 16)}… (t = ${t}): not recoverable yet`
            : `published ${id.slice(0, 16)}… to ${placed.stored.length} of ${n} nodes (t = ${t}): ${recoverable ? 'recoverable' : 'not recoverable yet'}`;
        const lines = [
          headline,
          reportLines(result.receipts),
          `stored (signed receipt): ${nodeList(placed.stored)}`,
          `refused (nothing stored): ${nodeList(placed.refused)}`,
          `unconfirmed (no answer or no valid receipt; may hold its share): ${nodeList(placed.unconfirmed)}`,
          `manifest: ${manifestPath} (written before any node was asked)`,
          cekPath === undefined
            ? `content key: ${keyFile} (--cek-in)`
            : `content key: ${cekPath} (mode 0600)`,
        ];
        if (finish !== undefined) {
          const revoke = `qkms admin revoke --quorum ${shellWord(resolve(io.cwd, quorumPath))} --admin-key ADMIN.key --content ${id}`;
          lines.push(
            'To finish once the nodes answer, publish the same content id and key again to a new manifest;',
            `it replaces ${manifestPath} at every node it reaches, so ship the new one:`,
            `  ${finish.map(shellWord).join(' ')}`,
            recoverable
              ? `To undo: there is no delete and nodes keep what they stored; to make sure nobody recovers it, an admin revokes it: ${revoke}`
              : `To undo: there is no delete. Nodes that refused hold nothing; while fewer than ${t} shares are stored they reveal nothing about the key and only take space. To make sure it is never completed or recovered, an admin revokes it: ${revoke}`,
          );
        }
        io.stdout.write(`${lines.join('\n')}\n`);
      }
      return recoverable ? EXIT.ok : EXIT.unavailable;
    } finally {
      wipe(result.cek, cekIn);
    }
  } finally {
    session.destroy();
    await client.close();
  }
}

export async function contentRecover(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, RECOVER_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${RECOVER_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  // Every required flag before any file is read: a missing one is a usage error.
  const manifestPath = required(v.manifest, 'manifest');
  const walletPath = required(v['wallet-key'], 'wallet-key');
  const outPath = required(v.out, 'out');
  const suite = defaultSuite();
  const nodeSet = loadQuorum(io, suite, v.quorum);
  const manifest = loadManifest(io, manifestPath);
  const wallet = loadWallet(io, walletPath);
  let out: string;
  try {
    out = checkNewOutput(io, outPath, '--out');
  } catch (e) {
    throw e instanceof OutputFileError ? nothingSent(e) : e;
  }
  const session = await Session.create({
    wallet,
    nodeSet,
    capabilities: { actions: ['recover'], content: [manifest.body.contentId] },
    lifetimeMs: CLI_SESSION_LIFETIME_MS,
  });
  const client = await QuorumClient.create({ nodeSet });
  try {
    const { cek, report } = await whenSlow(
      io,
      {
        prefix: 'qkms content recover',
        start: `waiting for ${manifest.body.threshold} of ${nodeSet.nodes.length} nodes`,
        done: 'key recovered',
      },
      () => client.recover(manifest, session),
    );
    try {
      const path = writeNewOutput(io, out, `${toHex(cek)}\n`, { label: '--out', secret: true });
      if (v.json === true) {
        printJson(io, {
          ok: true,
          contentId: toHex(manifest.body.contentId),
          cekFile: path,
          nodes: report,
        });
      } else {
        io.stdout.write(
          `recovered the content key of ${toHex(manifest.body.contentId).slice(0, 16)}… into ${path} (mode 0600)\n${reportLines(report)}\n`,
        );
      }
      return EXIT.ok;
    } finally {
      cek.fill(0);
    }
  } catch (e) {
    if (!(e instanceof RecoverError)) throw e;
    const revoked = e.reason === 'revoked' || e.report.some((r) => r.code === ErrorCode.REVOKED);
    // A refusal that says "try later" (POLICY_UNAVAILABLE, BUSY, …) is not a denial: exit 4, retry.
    const denied =
      !revoked &&
      e.report.some(
        (r) =>
          r.outcome === 'rejected' &&
          r.code !== undefined &&
          isRejectionCode(r.code) &&
          rejectionAction(r.code) !== 'back-off',
      );
    throw new CommandFailure(
      revoked ? EXIT.revoked : denied ? EXIT.denied : EXIT.unavailable,
      `failed: ${e.message}`,
      { json: { reason: e.reason, nodes: e.report }, lines: [reportLines(e.report)], cause: e },
    );
  } finally {
    session.destroy();
    await client.close();
  }
}
