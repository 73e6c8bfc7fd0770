// The client's commands, for the one `qkms` dispatcher (bin/qkms.ts).
import { adminRevocations, adminRevoke } from './admin.ts';
import { contentPublish, contentRecover } from './content.ts';
import { CLIENT_EXIT, OutputFileError, type ClientCliIo, type ClientCommand } from './io.ts';
import { nodeStatus } from './status.ts';
import { walletNew } from './wallet.ts';

export { CLIENT_EXIT, type ClientCliIo, type ClientCommand } from './io.ts';

type ClientGroups = Readonly<Record<string, Readonly<Record<string, ClientCommand>>>>;

/** An output file a command cannot create ends it with one line and CLIENT_EXIT.output. */
function withOutputExit(group: string, name: string, command: ClientCommand): ClientCommand {
  return {
    summary: command.summary,
    run: async (argv: readonly string[], io: ClientCliIo) => {
      try {
        return await command.run(argv, io);
      } catch (e) {
        if (!(e instanceof OutputFileError)) throw e;
        io.stderr.write(`qkms ${group} ${name}: ${e.message}\n`);
        return CLIENT_EXIT.output;
      }
    },
  };
}

function withOutputExits(groups: ClientGroups): ClientGroups {
  return Object.fromEntries(
    Object.entries(groups).map(([group, commands]) => [
      group,
      Object.fromEntries(
        Object.entries(commands).map(([name, c]) => [name, withOutputExit(group, name, c)]),
      ),
    ]),
  );
}

/** Command groups the client adds: `qkms <group> <command>`. */
export const CLIENT_COMMANDS: ClientGroups = withOutputExits({
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
});
