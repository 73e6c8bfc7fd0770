// What `qkms content publish` and `recover` did, in words: the per-node
// report lines, where a publish's shares are (stored, refused, unconfirmed),
// and the words of the command that finishes a partial publish.
import { extname } from 'node:path';
import { ErrorCode } from '../../protocol/index.ts';
import type { NodeReport } from '../../client/index.ts';
import { checkNewOutput } from '../files.ts';
import type { CliIo } from '../io.ts';

export function reportLines(report: readonly NodeReport[]): string {
  return report
    .map(
      (r) =>
        `  node ${r.index}  ${r.outcome}${r.code === undefined ? '' : ` (${r.code})`}${r.ms === undefined ? '' : `  ${Math.round(r.ms)} ms`}`,
    )
    .join('\n');
}

/** Who holds the published share: from a node's outcome, what the publisher can count on. */
export interface Placement {
  /** A receipt signed by the node for this manifest. */
  readonly stored: number[];
  /** The node refused: it stored nothing. */
  readonly refused: number[];
  /** No answer, no valid receipt, or stored without a receipt (AUDIT_UNAVAILABLE): it may hold its share. */
  readonly unconfirmed: number[];
}

export function placement(report: readonly NodeReport[]): Placement {
  const out: Placement = { stored: [], refused: [], unconfirmed: [] };
  for (const r of report) {
    if (r.outcome === 'ok') out.stored.push(r.index);
    else if (r.outcome === 'rejected' && r.code !== ErrorCode.AUDIT_UNAVAILABLE)
      out.refused.push(r.index);
    else out.unconfirmed.push(r.index);
  }
  return out;
}

export function nodeList(indices: readonly number[]): string {
  if (indices.length === 0) return 'none';
  return `${indices.length === 1 ? 'node' : 'nodes'} ${indices.join(', ')}`;
}

/** MANIFEST.2.json, MANIFEST.3.json…: the first that does not exist, for the finish command. */
export function nextManifestPath(io: CliIo, manifestPath: string): string {
  const ext = extname(manifestPath);
  const stem = manifestPath.slice(0, manifestPath.length - ext.length);
  for (let i = 2; ; i++) {
    const candidate = `${stem}.${i}${ext}`;
    try {
      checkNewOutput(io, candidate, '--out');
      return candidate;
    } catch {
      // taken: try the next
    }
  }
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
