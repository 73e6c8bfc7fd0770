// The exit codes of every `qkms` command: one table, so a number never means
// two things. Every command's --help prints it (exitCodeHelp).
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
  /** Fewer than t nodes answered with good shares (down, slow, lying). */
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
