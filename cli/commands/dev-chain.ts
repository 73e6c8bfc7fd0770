// The local EVM chain of a dev quorum (issue 16, decision 0015): `qkms quorum
// up` starts Foundry's anvil from the @foundry-rs/anvil package, deploys the
// demo access pass (deploy/chain/contracts, compiled into cli/dev-chain/
// artifacts.ts) and records the chain in quorum.json's "chain". The `qkms dev
// chain` commands then let a newcomer try access passes in minutes:
//   policy   prints a condition file: hold the pass of the content being opened
//   grant    mints a wallet the pass of one content id
//   revoke   burns it
// They send transactions from anvil's well-known account 0: a dev chain only.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  fromHex,
  isQkmsError,
  policyFromJson,
  policyToJson,
  toHex,
  type AccessPolicy,
} from '../../protocol/index.ts';
import { prepareSecretDir } from '../../node/index.ts';
import { parseArgs } from '../args.ts';
import { startAnvil, type Anvil } from '../dev-chain/anvil.ts';
import { deployDevChain, grantPass, revokePass } from '../dev-chain/deploy.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { loadManifest, loadWallet, readJson } from '../files.ts';
import {
  CommandFailure,
  configError,
  noPositionals,
  printJson,
  requiredFlag,
  usageError,
  type CliIo,
} from '../io.ts';
import { QUORUM_FLAG_HELP, resolveQuorumFile } from '../quorum-file.ts';

/** quorum.json's "chain": where the dev chain answers and what it holds. */
export interface DevChainConfig {
  readonly chainId: number;
  /** The JSON-RPC URL on loopback. */
  readonly rpc: string;
  /** The QkmsAccessPass contract. */
  readonly accessPass: string;
}

/** The anvil of a dev quorum listens on basePort + this: 7101 → 8545, anvil's usual port. */
export const CHAIN_PORT_OFFSET = 1444;
/** Under DIR: the chain's state (kept from run to run) and its log. */
export const CHAIN_DIR = 'chain';

/** How dev nodes follow the dev chain: anvil mines at once, so a short poll makes a change felt in ~0.2 s. */
export const DEV_CHAIN_NODE_FLAGS = [
  '--evm-poll-ms',
  '200',
  '--policy-freshness-ms',
  '2000',
] as const;

export interface RunningDevChain {
  readonly config: DevChainConfig;
  readonly anvil: Anvil;
}

/** Starts anvil for a dev quorum in DIR (state in DIR/chain) and deploys (or finds) the access pass. */
export async function startDevChain(
  dir: string,
  port: number,
  host: string,
): Promise<RunningDevChain> {
  prepareSecretDir(join(dir, CHAIN_DIR));
  const anvil = await startAnvil({
    port,
    host,
    statePath: join(dir, CHAIN_DIR, 'anvil-state.json'),
    logFile: join(dir, CHAIN_DIR, 'anvil.log'),
  });
  try {
    const deployment = await deployDevChain(anvil.url);
    return {
      anvil,
      config: { chainId: deployment.chainId, rpc: anvil.url, accessPass: deployment.accessPass },
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

/** The demo pass policy: the wallet holds at least one pass whose token id is the content id. */
export function passPolicy(chain: DevChainConfig): AccessPolicy {
  return policyFromJson({
    kind: 'evm-balance',
    chain: chain.chainId,
    standard: 'erc1155',
    contract: chain.accessPass,
    tokenId: ':contentId',
    comparator: '>=',
    value: '1',
  });
}

/** quorum.json's "chain", or a config error saying how to get one. */
function loadDevChain(io: CliIo, flag: string | undefined): DevChainConfig {
  const file = resolveQuorumFile(io, flag);
  const json = readJson(io, file.path, 'quorum file') as { chain?: Partial<DevChainConfig> } | null;
  const chain = json?.chain;
  if (
    typeof chain?.chainId !== 'number' ||
    typeof chain.rpc !== 'string' ||
    typeof chain.accessPass !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(chain.accessPass)
  ) {
    throw configError(
      `quorum file ${file.path}: no dev chain in it ("chain": {chainId, rpc, accessPass}); 'qkms quorum up' writes one`,
    );
  }
  return { chainId: chain.chainId, rpc: chain.rpc, accessPass: chain.accessPass };
}

/** --content: 64 hex digits, or a manifest file (its content id). */
function contentIdOf(io: CliIo, value: string): Uint8Array {
  const hex = value.replace(/^0x/, '');
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return fromHex(hex.toLowerCase());
  if (!existsSync(resolve(io.cwd, value)))
    throw usageError('--content: expected a content id (64 hex digits) or a manifest file');
  return loadManifest(io, value).body.contentId;
}

/** --wallet: an address, or a wallet key file (its address). */
function walletOf(io: CliIo, value: string): `0x${string}` {
  if (/^0x[0-9a-fA-F]{40}$/.test(value)) return value.toLowerCase() as `0x${string}`;
  if (value.startsWith('0x'))
    throw usageError('--wallet: expected an address (0x + 40 hex) or a wallet key file');
  return loadWallet(io, value).address.toLowerCase() as `0x${string}`;
}

export const DEV_CHAIN_POLICY_FLAGS = { quorum: 'string', help: 'boolean' } as const;
export const DEV_CHAIN_PASS_FLAGS = {
  quorum: 'string',
  content: 'string',
  wallet: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

export const DEV_CHAIN_POLICY_USAGE = `Usage: qkms dev chain policy [--quorum FILE] > pass.json

Prints a condition file for 'content publish --policy pass.json': the
recovering wallet must hold the dev chain's access pass of the content it
opens (ERC-1155, token id = the content id). docs/policies.md has the language.

${QUORUM_FLAG_HELP}

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'printed',
  [EXIT.config]: 'the quorum file has no dev chain',
})}`;

const passUsage = (
  verb: 'grant' | 'revoke',
  what: string,
): string => `Usage: qkms dev chain ${verb} [--quorum FILE] --content ID|MANIFEST --wallet ADDRESS|KEYFILE [--json]

${what} on the dev chain 'qkms quorum up' runs, from its
well-known dev account, and waits for the block. Nodes see it within their
poll interval (0.2 s on a dev quorum). --content takes a content id (64 hex)
or a manifest file; --wallet an address or a wallet key file.

${QUORUM_FLAG_HELP}

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'the transaction is in a block',
  [EXIT.failure]: 'the chain refused it or did not answer',
  [EXIT.config]: 'the quorum file has no dev chain',
})}`;

export function devChainPolicy(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseArgs(argv, DEV_CHAIN_POLICY_FLAGS);
  if (flags.help === true) {
    io.stdout.write(`${DEV_CHAIN_POLICY_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const chain = loadDevChain(io, flags.quorum);
  io.stdout.write(`${JSON.stringify(policyToJson(passPolicy(chain)), null, 2)}\n`);
  return EXIT.ok;
}

function passCommand(verb: 'grant' | 'revoke') {
  return async (argv: readonly string[], io: CliIo): Promise<number> => {
    const { flags, positionals } = parseArgs(argv, DEV_CHAIN_PASS_FLAGS);
    if (flags.help === true) {
      io.stdout.write(
        `${passUsage(verb, verb === 'grant' ? 'Mints the wallet the access pass of one content' : "Burns the wallet's access pass of one content")}\n`,
      );
      return EXIT.ok;
    }
    noPositionals(positionals);
    const contentId = contentIdOf(io, requiredFlag(flags.content, 'content'));
    const wallet = walletOf(io, requiredFlag(flags.wallet, 'wallet'));
    const chain = loadDevChain(io, flags.quorum);
    const send = verb === 'grant' ? grantPass : revokePass;
    let tx;
    try {
      tx = await send(chain.rpc, chain.accessPass as `0x${string}`, contentId, wallet);
    } catch (e) {
      if (isQkmsError(e)) throw e;
      throw new CommandFailure(
        EXIT.failure,
        `dev chain ${chain.rpc}: ${verb} failed (${e instanceof Error ? (e.message.split('\n')[0] ?? '') : 'error'}); is 'qkms quorum up' running?`,
        { cause: e },
      );
    }
    const content = toHex(contentId);
    if (flags.json === true) {
      printJson(io, {
        ok: true,
        action: verb,
        content,
        wallet,
        block: Number(tx.blockNumber),
        tx: tx.txHash,
      });
    } else {
      io.stdout.write(
        `${verb === 'grant' ? 'granted' : 'revoked'} the pass of content ${content.slice(0, 12)}… ${verb === 'grant' ? 'to' : 'from'} ${wallet.slice(0, 10)}… in block ${tx.blockNumber}\n`,
      );
    }
    return EXIT.ok;
  };
}

export const devChainGrant = passCommand('grant');
export const devChainRevoke = passCommand('revoke');
