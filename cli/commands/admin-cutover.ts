// `qkms admin cutover --to NEWSET.json`: the one signed step after a
// handover (decision 0017, docs/operations.md §2.1). It checks first — with
// the handover's own status pass, which also finishes an incomplete one —
// that every node of the successor holds every content; only then do k of
// the old set's admins sign the cutover record, and the nodes switch: those
// that join, then those that stay (one at a time, each waited for), then
// those that retire, which wipe their shares and stop. Run it again after
// any failure: nodes that already switched answer as before.
import { resolve } from 'node:path';
import {
  QkmsError,
  defaultSuite,
  encodeCutoverRecord,
  signCutover,
  signTicket,
  toHex,
  wipe,
  type NodeSet,
} from '../../protocol/internal.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { configError, noPositionals, printJson, usageError, type CliIo } from '../io.ts';
import { QUORUM_FLAG_HELP } from '../quorum-file.ts';
import { loadHandover } from '../reshare/handover-files.ts';
import { runHandover } from '../reshare/coordinator.ts';
import {
  nodeSetFilesBefore,
  runCutover,
  servedSetId,
  type CutoverNodeReport,
} from '../reshare/cutover.ts';
import { nodeSender } from '../reshare/sender.ts';
import { readAdminKey } from './admin-key.ts';

export const CUTOVER_USAGE = `Usage: qkms admin cutover --to NEWSET.json [--quorum FILE] --admin-key FILE [--admin-key FILE…]
         [--timeout-ms MS] [--json]

Hands the quorum to NEWSET.json, its successor, after 'qkms admin reshare'
(docs/operations.md, "Changing the node set"). It first checks that every
node of the new set holds a verified share of every content (finishing the
handover if it can); if not, it stops with exit 4 and nothing changes.

Then the old set's admins sign the cutover record (one --admin-key each; as
many as the old set's admin threshold), and each node takes it: nodes that
join first, then nodes that stay, one at a time (each restarts in about a
second and is waited for), then nodes that retire, which wipe their shares
and exit. Clients pinned to the old set follow to the new one by themselves.

  --timeout-ms MS    per request, and per node restart (default 60000)

${QUORUM_FLAG_HELP}

--json prints one object: ok, from, to (ids in full), nodes (role, index,
state, serving, error).

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.unavailable], {
  [EXIT.ok]: 'every node of the new set serves it; every retired node took the cutover',
  [EXIT.failure]: 'an unexpected failure',
  [EXIT.config]:
    'a quorum, node-set or key file error, too few admin keys, or NEWSET.json is not a successor',
  [EXIT.unavailable]: 'the handover is not complete, or some node did not switch yet: run again',
})}`;

export const CUTOVER_FLAGS = {
  to: 'string',
  quorum: 'string',
  'admin-key': 'list',
  'timeout-ms': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

/** The admin seeds of `files`, each an admin of `set`; too few for its threshold is a config error. */
function readAdminSeeds(io: CliIo, files: readonly string[], set: NodeSet): Uint8Array[] {
  const suite = defaultSuite();
  const seeds: Uint8Array[] = [];
  const admins = new Set<number>();
  try {
    for (const file of files) {
      const seed = readAdminKey(resolve(io.cwd, file));
      seeds.push(seed);
      const key = suite.hybrid.signer(seed).publicKey;
      const position = set.admins.keys.findIndex((k) => suite.equalBytes(k, key));
      if (position < 0) throw configError(`${file}: not an admin key of the quorum's node set`);
      admins.add(position);
    }
  } catch (e) {
    for (const s of seeds) wipe(s);
    if (e instanceof QkmsError) throw configError(e.message, e);
    throw e;
  }
  if (admins.size < set.admins.threshold) {
    for (const s of seeds) wipe(s);
    throw configError(
      `${admins.size} distinct admin keys; the cutover needs ${set.admins.threshold} of the quorum's admins`,
    );
  }
  return seeds;
}

function nodeLine(r: CutoverNodeReport): string {
  const what =
    r.error !== undefined
      ? `NOT switched: ${r.error}`
      : r.role === 'retires'
        ? 'retired: shares wiped'
        : 'serving the new set';
  return `${r.role === 'retires' ? 'old' : 'new'} node ${r.index} (${r.role})  ${what}\n`;
}

export async function adminCutover(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, CUTOVER_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${CUTOVER_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  if (v.to === undefined) throw usageError('--to NEWSET.json: required');
  const keyFiles = v['admin-key'] ?? [];
  if (keyFiles.length === 0) throw usageError('--admin-key FILE: required');
  const timeout = v['timeout-ms'] === undefined ? 60_000 : Number(v['timeout-ms']);
  if (!Number.isSafeInteger(timeout) || timeout < 100 || timeout > 600_000)
    throw usageError('--timeout-ms: an integer in [100, 600000]');
  const suite = defaultSuite();
  const { from, to, toJson } = loadHandover(io, suite, v.quorum, v.to);
  const seeds = readAdminSeeds(io, keyFiles, from.set);
  const fromSide = { set: from.set, file: new TextEncoder().encode(from.text) };
  const toSide = { set: to, file: new TextEncoder().encode(JSON.stringify(toJson)) };
  const { send, close } = await nodeSender(timeout);
  try {
    // Once any node serves the successor the cutover has begun: finish it, do not re-check.
    let begun = false;
    for (const node of to.nodes) {
      const id = await servedSetId(suite, send, node);
      if (
        id !== undefined &&
        suite.equalBytes(id, to.id) &&
        from.set.nodes.some((n) => n.peerId === node.peerId)
      )
        begun = true;
    }
    if (!begun) {
      const [first] = seeds;
      if (first === undefined) throw usageError('--admin-key FILE: required');
      const key = suite.hybrid.signer(first);
      const position = from.set.admins.keys.findIndex((k) => suite.equalBytes(k, key.publicKey));
      const ticket = signTicket(
        { position, key },
        { from: from.set.id, to: to.id, notAfter: Date.now() + 3_600_000 },
      );
      io.stderr.write('qkms admin cutover: checking that every new node holds every content…\n');
      const handover = await runHandover({ suite, from: fromSide, to: toSide, ticket, send });
      if (
        handover.held !== handover.total ||
        (handover.total === 0 &&
          handover.nodes.some((n) => n.set === 'old' && Object.keys(n.rejected).length > 0))
      ) {
        io.stderr.write(
          `qkms admin cutover: NOT cut over: ${handover.held} of ${handover.total} contents are held by every new node; ` +
            "run 'qkms admin reshare' until it completes\n",
        );
        return EXIT.unavailable;
      }
      io.stderr.write(
        `qkms admin cutover: all ${handover.total} contents held; switching the nodes\n`,
      );
    } else {
      io.stderr.write('qkms admin cutover: the cutover has begun; finishing it\n');
    }
    const record = signCutover(
      suite,
      from.set.admins,
      { from: from.set.id, to: to.id, at: Date.now() },
      seeds,
    );
    const reports = await runCutover({
      suite,
      from: fromSide,
      to: toSide,
      record: encodeCutoverRecord(record),
      ancestors: await nodeSetFilesBefore(suite, send, from.set),
      send,
      restartTimeoutMs: timeout,
      onNode: (r) => {
        if (v.json !== true) io.stderr.write(`qkms admin cutover: ${nodeLine(r).trimEnd()}\n`);
      },
    });
    const ok = reports.every((r) => r.error === undefined);
    if (v.json === true) {
      printJson(io, { ok, from: toHex(from.set.id), to: toHex(to.id), nodes: reports });
    } else {
      io.stdout.write(
        ok
          ? `cutover complete: epoch ${to.epoch} (${to.nodes.length} nodes, t = ${to.threshold}) serves the quorum; ` +
              `use ${v.to} as the quorum's node-set file from now on\n`
          : `cutover NOT complete: ${reports.filter((r) => r.error !== undefined).length} nodes did not switch; run again\n`,
      );
    }
    return ok ? EXIT.ok : EXIT.unavailable;
  } finally {
    for (const s of seeds) wipe(s);
    await close();
  }
}
