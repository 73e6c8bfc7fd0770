// Long file: flags, the node transport, and the person's and the script's reports of one handover.
// `qkms admin reshare --to NEWSET.json`: moves every content's sharing from
// the quorum's node set to its successor (decision 0016, docs/operations.md
// §"Changing the node set"). The successor must name the quorum's set as its
// predecessor and carry its admins' signatures (`qkms admin nodeset new
// --predecessor`, then `sign`). The admin key signs a ticket for this one
// handover; the coordinator (cli/reshare/coordinator.ts) does the rest and
// reports per node and per content. Safe to run again at any time: a content
// every new node holds is skipped, so a run stopped anywhere resumes.
import { resolve } from 'node:path';
import {
  QkmsError,
  defaultSuite,
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
import { runHandover, type HandoverReport } from '../reshare/coordinator.ts';
import { nodeSender } from '../reshare/sender.ts';
import { readAdminKey } from './admin-key.ts';

/** How long the ticket this run signs stays good: a handover of a large quorum takes hours, not days. */
const TICKET_LIFETIME_MS = 24 * 3_600_000;

export const RESHARE_USAGE = `Usage: qkms admin reshare --to NEWSET.json [--quorum FILE] --admin-key FILE
         [--batch N] [--timeout-ms MS] [--json]

Moves every content's sharing from the quorum's node set to NEWSET.json, its
successor (docs/operations.md, "Changing the node set"): joining, leaving or
replacing nodes, changing t, or refreshing every share with the same members.
No key is ever reconstructed: each old node deals sub-shares of its own share
sealed to the new nodes, each new node checks them against the old
commitments, names a dealer that cheats, and signs the new commitments; a
content is held once every new node holds a verified share and a record
t' of them signed.

NEWSET.json must name the quorum's set as its predecessor and carry enough
signatures of its admins ('qkms admin nodeset new --predecessor', 'sign').
--admin-key is one of those admins' keys: it signs a ticket for this handover
(good for 24 hours) that every node checks before it does any work.

Every new node must be running. Old nodes keep serving throughout. Run it
again at any time: contents every new node holds are skipped, so a run that
stopped (the coordinator or a node crashed) resumes where it was.

  --batch N          contents per request (1..128, default 64)
  --timeout-ms MS    per request (default 60000)

${QUORUM_FLAG_HELP}

--json prints one object: ok, from, to (ids in full), total, held, alreadyHeld,
partial, failed, ms, contentsPerSecond, nodes, contents (those not held, and
any with a named dealer, ids in full).

The cutover to the new set is not yet a command: until it is, the old set
keeps serving, and the new set's shares wait on its nodes.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.unavailable], {
  [EXIT.ok]: 'every content is held by every node of the new set',
  [EXIT.failure]: 'the nodes refused the handover, or an unexpected failure',
  [EXIT.config]: 'a quorum, node-set or key file error, or NEWSET.json is not a successor',
  [EXIT.unavailable]:
    'some contents are not held yet (nodes down, or too few honest old nodes): run again',
})}`;

export const RESHARE_FLAGS = {
  to: 'string',
  quorum: 'string',
  'admin-key': 'string',
  batch: 'string',
  'timeout-ms': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

function short(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

function intFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw usageError(`--${flag}: an integer in [${min}, ${max}]`);
  return n;
}

function rejectedText(rejected: Readonly<Record<string, number | undefined>>): string {
  const codes = Object.entries(rejected).filter(([, n]) => (n ?? 0) > 0);
  return codes.length === 0 ? '' : `  refused ${codes.map(([c, n]) => `${c}×${n ?? 0}`).join(' ')}`;
}

function humanReport(report: HandoverReport, from: NodeSet, to: NodeSet): string {
  const lines: string[] = [];
  for (const n of report.nodes) {
    const what =
      n.set === 'old'
        ? `dealt ${n.contents}${n.blamed > 0 ? `, named by new nodes for ${n.blamed}` : ''}`
        : `holds ${n.contents} of ${report.total}`;
    const unanswered = n.unanswered > 0 ? `  no answer ×${n.unanswered}` : '';
    lines.push(`${n.set} node ${n.index}  ${what}${unanswered}${rejectedText(n.rejected)}`);
  }
  for (const c of report.contents) {
    if (c.outcome === 'held' && c.blamed.length === 0) continue;
    if (c.outcome === 'already-held') continue;
    const blamed = c.blamed.map(
      (b) => `old node ${b.dealer} ${b.reason}${b.by > 0 ? ` (by new node ${b.by})` : ''}`,
    );
    lines.push(
      `content ${short(c.contentId)}  ${c.outcome}${c.reason === undefined ? '' : `: ${c.reason}`}${blamed.length === 0 ? '' : `; named: ${blamed.join(', ')}`}`,
    );
  }
  const target = `epoch ${to.epoch} (${to.nodes.length} nodes, t = ${to.threshold})`;
  const rate =
    report.ms > 0
      ? ` at ${Math.round(((report.held - report.alreadyHeld) * 1000) / report.ms)} contents/s`
      : '';
  lines.push(
    report.held === report.total
      ? `handover complete: all ${report.total} contents of epoch ${from.epoch} are held by every node of ${target}${rate}`
      : `NOT complete: ${report.held} of ${report.total} contents held by every node of ${target}; ${report.partial} partial, ${report.failed} failed: run again`,
  );
  return `${lines.join('\n')}\n`;
}

export async function adminReshare(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, RESHARE_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${RESHARE_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  if (v.to === undefined) throw usageError('--to NEWSET.json: required');
  if (v['admin-key'] === undefined) throw usageError('--admin-key FILE: required');
  const batchSize = intFlag(v.batch, 'batch', 1, 128, 64);
  const timeoutMs = intFlag(v['timeout-ms'], 'timeout-ms', 100, 600_000, 60_000);
  const suite = defaultSuite();
  const { from, to, toJson } = loadHandover(io, suite, v.quorum, v.to);
  let seed: Uint8Array | undefined;
  let ticket;
  try {
    seed = readAdminKey(resolve(io.cwd, v['admin-key']));
    const key = suite.hybrid.signer(seed);
    const position = from.set.admins.keys.findIndex((k) => suite.equalBytes(k, key.publicKey));
    if (position < 0)
      throw configError(`${v['admin-key']}: not an admin key of the quorum's node set`);
    ticket = signTicket(
      { position, key },
      { from: from.set.id, to: to.id, notAfter: Date.now() + TICKET_LIFETIME_MS },
    );
  } catch (e) {
    if (e instanceof QkmsError) throw configError(e.message, e);
    throw e;
  } finally {
    if (seed !== undefined) wipe(seed);
  }

  io.stderr.write(
    `qkms admin reshare: epoch ${from.set.epoch} (${from.set.nodes.length} nodes, t = ${from.set.threshold}) -> epoch ${to.epoch} (${to.nodes.length} nodes, t = ${to.threshold})\n`,
  );
  const { send, close } = await nodeSender(timeoutMs);
  let report: HandoverReport;
  try {
    report = await runHandover({
      suite,
      from: { set: from.set, file: new TextEncoder().encode(from.text) },
      to: { set: to, file: new TextEncoder().encode(JSON.stringify(toJson)) },
      ticket,
      send,
      batchSize,
      onProgress: (p) => {
        io.stderr.write(
          `qkms admin reshare: ${p.held} of ${p.total} contents held${p.failed > 0 ? `, ${p.failed} not yet` : ''}\n`,
        );
      },
    });
  } finally {
    await close();
  }
  const complete = report.held === report.total;
  const refusedEverywhere =
    report.total === 0 &&
    report.nodes.filter((n) => n.set === 'old').every((n) => Object.keys(n.rejected).length > 0);
  if (v.json === true) {
    printJson(io, {
      ok: complete && !refusedEverywhere,
      from: toHex(from.set.id),
      to: toHex(to.id),
      total: report.total,
      held: report.held,
      alreadyHeld: report.alreadyHeld,
      partial: report.partial,
      failed: report.failed,
      ms: report.ms,
      contentsPerSecond:
        report.ms > 0 ? ((report.held - report.alreadyHeld) * 1000) / report.ms : null,
      nodes: report.nodes,
      contents: report.contents
        .filter(
          (c) => (c.outcome !== 'held' && c.outcome !== 'already-held') || c.blamed.length > 0,
        )
        .map((c) => ({ ...c, contentId: toHex(c.contentId) })),
    });
  } else {
    io.stdout.write(humanReport(report, from.set, to));
  }
  if (refusedEverywhere) return EXIT.failure;
  return complete ? EXIT.ok : EXIT.unavailable;
}
