// Every `qkms` command, in one table: `qkms <group> <command…>`, where a
// command name may be two words ("key new"). cli/main.ts dispatches on it.
import type { Command } from '../io.ts';
import { adminKeyNew, adminNodeSetShow, adminNodeSetSign } from './admin-nodeset.ts';
import { adminRevocations, adminRevoke } from './admin-revoke.ts';
import { auditTail, auditVerify } from './audit.ts';
import { contentPublish, contentRecover } from './content.ts';
import { nodeInit } from './node-init.ts';
import { nodeStart } from './node-start.ts';
import { nodeStatus } from './node-status.ts';
import { quorumUp } from './quorum-up.ts';
import { walletNew } from './wallet.ts';

/** Command groups: `qkms <group> <command…>`. */
export type CommandGroups = Readonly<Record<string, Readonly<Record<string, Command>>>>;

export const COMMANDS: CommandGroups = {
  node: {
    init: {
      summary: 'create the node keystore and print its public part for the admin',
      run: nodeInit,
    },
    start: { summary: 'run the node until SIGINT or SIGTERM', run: nodeStart },
    status: { summary: "each node's reachability, version and round trip", run: nodeStatus },
  },
  admin: {
    'key new': { summary: 'create an admin signing key (Ed25519 + ML-DSA-65)', run: adminKeyNew },
    'nodeset sign': {
      summary: "add this admin's signature to a node-set file",
      run: adminNodeSetSign,
    },
    'nodeset show': { summary: 'verify a signed node set and print it', run: adminNodeSetShow },
    revoke: {
      summary: 'revoke a wallet, session, delegation or content across the quorum',
      run: adminRevoke,
    },
    revocations: { summary: 'list the revocations a node holds', run: adminRevocations },
  },
  audit: {
    verify: {
      summary: "walk a node's custody audit chain and report the first break",
      run: auditVerify,
    },
    tail: { summary: "print a node's most recent custody records", run: auditTail },
  },
  quorum: {
    up: {
      summary: 'run a local development quorum in the foreground until Ctrl-C',
      run: quorumUp,
    },
  },
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
};
