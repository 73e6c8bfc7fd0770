// The client's commands, for the one `qkms` dispatcher (bin/qkms.ts).
import { adminRevocations, adminRevoke } from './admin.ts';
import { contentPublish, contentRecover } from './content.ts';
import type { ClientCommand } from './io.ts';
import { nodeStatus } from './status.ts';
import { walletNew } from './wallet.ts';

export { CLIENT_EXIT, type ClientCliIo, type ClientCommand } from './io.ts';

/** Command groups the client adds: `qkms <group> <command>`. */
export const CLIENT_COMMANDS: Readonly<Record<string, Readonly<Record<string, ClientCommand>>>> = {
  content: {
    publish: {
      summary: 'split a content key across the quorum and write its manifest',
      run: contentPublish,
    },
    recover: { summary: 'recover a content key from the quorum into a file', run: contentRecover },
  },
  wallet: {
    new: { summary: 'create a development wallet key file and print its address', run: walletNew },
  },
  admin: {
    revoke: {
      summary: 'revoke a wallet, session, delegation or content across the quorum',
      run: adminRevoke,
    },
    revocations: { summary: 'list the revocations a node holds', run: adminRevocations },
  },
  node: {
    status: { summary: "each node's reachability, version and round trip", run: nodeStatus },
  },
};
