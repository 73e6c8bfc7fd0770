// Every `qkms` command, in one table: `qkms <group> <command…>`, where a
// command name may be two words ("key new"). cli/main.ts dispatches on it;
// `flags` is the very FlagSpecs the command parses with (shell completion
// reads it), so the two cannot drift apart.
import type { Command } from '../io.ts';
import { COMPLETION_FLAGS, completionCommand } from '../completion.ts';
import { ADMIN_KEY_NEW_FLAGS, adminKeyNew } from './admin-key.ts';
import { ADMIN_NODESET_SHOW_FLAGS, adminNodeSetShow } from './admin-nodeset.ts';
import { ADMIN_NODESET_SIGN_FLAGS, adminNodeSetSign } from './admin-nodeset-sign.ts';
import { ADMIN_NODESET_NEW_FLAGS, adminNodeSetNew } from './admin-nodeset-new.ts';
import { CUTOVER_FLAGS, adminCutover } from './admin-cutover.ts';
import { RESHARE_FLAGS, adminReshare } from './admin-reshare.ts';
import { REVOCATIONS_FLAGS, REVOKE_FLAGS, adminRevocations, adminRevoke } from './admin-revoke.ts';
import { AUDIT_TAIL_FLAGS, AUDIT_VERIFY_FLAGS, auditTail, auditVerify } from './audit.ts';
import { PUBLISH_FLAGS, RECOVER_FLAGS, contentPublish, contentRecover } from './content.ts';
import {
  DEV_CHAIN_PASS_FLAGS,
  DEV_CHAIN_POLICY_FLAGS,
  devChainGrant,
  devChainPolicy,
  devChainRevoke,
} from './dev-chain.ts';
import { NODE_INIT_FLAGS, nodeInit } from './node-init.ts';
import { NODE_START_FLAGS, nodeStart } from './node-start.ts';
import { STATUS_FLAGS, nodeStatus } from './node-status.ts';
import { quorumUp } from './quorum-up.ts';
import { QUORUM_UP_FLAGS } from './quorum-up-args.ts';
import { WALLET_NEW_FLAGS, WALLET_SHOW_FLAGS, walletNew, walletShow } from './wallet.ts';

/** Command groups: `qkms <group> <command…>`. */
export type CommandGroups = Readonly<Record<string, Readonly<Record<string, Command>>>>;

export const COMMANDS: CommandGroups = {
  node: {
    init: {
      summary: 'create the node keystore and print its public part for the admin',
      flags: NODE_INIT_FLAGS,
      run: nodeInit,
    },
    start: {
      summary: 'run the node until SIGINT or SIGTERM',
      flags: NODE_START_FLAGS,
      run: nodeStart,
    },
    status: {
      summary: "each node's reachability, version and round trip",
      flags: STATUS_FLAGS,
      run: nodeStatus,
    },
  },
  admin: {
    'key new': {
      summary: 'create an admin signing key (Ed25519 + ML-DSA-65)',
      flags: ADMIN_KEY_NEW_FLAGS,
      run: adminKeyNew,
    },
    'nodeset new': {
      summary: 'build a node-set document from node entries and admin public keys',
      flags: ADMIN_NODESET_NEW_FLAGS,
      run: adminNodeSetNew,
    },
    'nodeset sign': {
      summary: "add this admin's signature to a node-set file",
      flags: ADMIN_NODESET_SIGN_FLAGS,
      run: adminNodeSetSign,
    },
    'nodeset show': {
      summary: 'verify a signed node set and print it',
      flags: ADMIN_NODESET_SHOW_FLAGS,
      run: adminNodeSetShow,
    },
    reshare: {
      summary: "move every content's shares to the quorum's successor node set",
      flags: RESHARE_FLAGS,
      run: adminReshare,
    },
    cutover: {
      summary: 'hand the quorum to its successor once every new node holds every content',
      flags: CUTOVER_FLAGS,
      run: adminCutover,
    },
    revoke: {
      summary: 'revoke a wallet, session, delegation or content across the quorum',
      flags: REVOKE_FLAGS,
      run: adminRevoke,
    },
    revocations: {
      summary: 'list the revocations a node holds',
      flags: REVOCATIONS_FLAGS,
      run: adminRevocations,
    },
  },
  audit: {
    verify: {
      summary: "walk a node's custody audit chain and report the first break",
      flags: AUDIT_VERIFY_FLAGS,
      run: auditVerify,
    },
    tail: {
      summary: "print a node's most recent custody records",
      flags: AUDIT_TAIL_FLAGS,
      run: auditTail,
    },
  },
  quorum: {
    up: {
      summary: 'run a local development quorum in the foreground until Ctrl-C',
      flags: QUORUM_UP_FLAGS,
      run: quorumUp,
    },
  },
  content: {
    publish: {
      summary: 'split a content key across the quorum and write its manifest',
      flags: PUBLISH_FLAGS,
      run: contentPublish,
    },
    recover: {
      summary: 'recover a content key from the quorum into a file',
      flags: RECOVER_FLAGS,
      run: contentRecover,
    },
  },
  dev: {
    'chain policy': {
      summary: "print a condition file: hold the dev chain's access pass of the content",
      flags: DEV_CHAIN_POLICY_FLAGS,
      run: devChainPolicy,
    },
    'chain grant': {
      summary: 'mint a wallet the access pass of a content on the dev chain',
      flags: DEV_CHAIN_PASS_FLAGS,
      run: devChainGrant,
    },
    'chain revoke': {
      summary: "burn a wallet's access pass of a content on the dev chain",
      flags: DEV_CHAIN_PASS_FLAGS,
      run: devChainRevoke,
    },
  },
  wallet: {
    new: {
      summary: 'create a development wallet key file and print its address',
      flags: WALLET_NEW_FLAGS,
      run: walletNew,
    },
    show: {
      summary: "print a wallet key file's address (never the key)",
      flags: WALLET_SHOW_FLAGS,
      run: walletShow,
    },
  },
  completion: {
    bash: {
      summary: 'print a bash script that completes qkms commands and flags',
      flags: COMPLETION_FLAGS,
      run: completionCommand('bash', () => COMMANDS),
    },
    zsh: {
      summary: 'print a zsh script that completes qkms commands and flags',
      flags: COMPLETION_FLAGS,
      run: completionCommand('zsh', () => COMMANDS),
    },
  },
};
