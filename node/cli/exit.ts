// Exit codes of the node's commands (`qkms node|admin|audit|quorum …`). The
// client's commands keep theirs in client/cli/io.ts (CLIENT_EXIT); both run
// under the one `qkms` executable, so a number never means two things: 4-7
// are the client's, 8 is the node's.
//
// deploy/systemd/qkms-node.service lists the codes a restart cannot fix in
// RestartPreventExitStatus= (2, 3, 8).
export const EXIT = {
  ok: 0,
  /** Anything unexpected (a restart may help). */
  failure: 1,
  /** A bad flag or command. */
  usage: 2,
  /** A configuration, keystore or node-set error; a listen address this host cannot use. */
  config: 3,
  /** `node start`: a listen address or the data directory is held by another process. */
  inUse: 8,
} as const;
