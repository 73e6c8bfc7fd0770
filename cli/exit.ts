// The exit codes of every `qkms` command: one table, so a number never means
// two things, and one line per code that every command's --help prints for
// the codes it can return (exitCodeHelp).
//
// How a failure is reported (cli/main.ts runCommand): with --json, one JSON
// object on stdout, {"ok": false, "exit": N, "error": "…"} (a command may add
// fields, e.g. the per-node report), and nothing on stderr; without it, one
// line "qkms <command>: …" on stderr. A command that ran and reports a bad
// outcome (not recoverable, not effective, a broken chain) prints its report
// as usual, with "ok": false in --json, and the exit code below.
//
// deploy/systemd/qkms-node.service lists the codes a restart cannot fix in
// RestartPreventExitStatus= (2, 3, 8).
export const EXIT = {
  ok: 0,
  /** Anything unexpected (a restart may help). */
  failure: 1,
  /** A bad flag or command, or a required option missing. */
  usage: 2,
  /** A configuration, keystore, node-set, wallet, manifest or key file is missing, unsafe or malformed. */
  config: 3,
  /** Fewer than t nodes answered with good shares (down, slow, lying, or busy: asked to come back later). */
  unavailable: 4,
  /** Nodes refused: the access policy, the delegation or a capability does not allow it. */
  denied: 5,
  /** The wallet, session, delegation or content is revoked. */
  revoked: 6,
  /**
   * An output file cannot be created: it exists (never overwritten), its
   * folder is missing, or the write failed. Nothing was sent to any node.
   */
  output: 7,
  /** `node start`: a listen address or the data directory is held by another process. */
  inUse: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** One line per code, as --help prints it. */
export const EXIT_MEANINGS: Readonly<Record<ExitCode, string>> = {
  [EXIT.ok]: 'success',
  [EXIT.failure]: 'unexpected failure (a retry or restart may help)',
  [EXIT.usage]: 'usage: a bad flag or argument, or a required option missing',
  [EXIT.config]:
    'a configuration, keystore, node-set, key or input file is missing, unsafe or malformed',
  [EXIT.unavailable]:
    'too few nodes answered (down, slow, lying, or not able to now: try again later)',
  [EXIT.denied]: 'refused by the nodes: policy, delegation or capability',
  [EXIT.revoked]: 'revoked: the wallet, session, delegation or content',
  [EXIT.output]: 'an output file exists (never overwritten) or cannot be written; nothing was sent',
  [EXIT.inUse]: 'an address or the data directory is in use by another process',
};

/** The heading exitCodeHelp starts with: the last section of every --help. */
export const EXIT_CODES_HEADING = 'Exit codes:';

/**
 * The "Exit codes:" section of a command's --help: CODES in ascending order,
 * each with its line from EXIT_MEANINGS, or with what it means for this
 * command where `specific` says (`{ [EXIT.ok]: 'stored at t nodes or more' }`).
 */
export function exitCodeHelp(
  codes: readonly ExitCode[],
  specific: Readonly<Partial<Record<ExitCode, string>>> = {},
): string {
  const lines = [...new Set(codes)]
    .sort((a, b) => a - b)
    .map((code) => `  ${code}  ${specific[code] ?? EXIT_MEANINGS[code]}`);
  return `${EXIT_CODES_HEADING}\n${lines.join('\n')}`;
}
