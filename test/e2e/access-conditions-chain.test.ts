// Long file: every chain-state scenario shares one anvil, one quorum and the same few helpers.
// Access conditions on chain state (issue 16, decision 0015) against a real
// anvil and five in-process nodes (t = 3) that follow it: an ERC-1155 pass
// admits its holder only, and a grant, a transfer by the holder and a
// reorganisation that undoes a grant each reach every node within the
// freshness bound; so does a transfer of an ERC-721 token (ownerOf); an
// evm-call leaf (hasAccess), a time window, and and / or / not over a pass
// leaf decide as the condition tree says.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import solc from 'solc';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  parseAbi,
  type Abi,
  type Address,
  type Hex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../../cli/dev-chain/anvil.ts';
import { QKMS_ACCESS_PASS } from '../../cli/dev-chain/artifacts.ts';
import {
  contentTokenId,
  deployDevChain,
  devChain,
  grantPass,
  hasPass,
} from '../../cli/dev-chain/deploy.ts';
import { passPolicy, type DevChainConfig } from '../../cli/commands/dev-chain.ts';
import { QuorumClient, walletFromPrivateKey } from '../../client/index.ts';
import type { Daemon } from '../../node/daemon.ts';
import type { Session } from '../../client/index.ts';
import {
  ErrorCode,
  fromHex,
  policyFromJson,
  type AccessPolicy,
  type Manifest,
} from '../../protocol/internal.ts';
import { playerSession, startQuorum, stopQuorum, type Quorum } from '../support/in-process.ts';
import {
  ADMITTED,
  BOUND_MS,
  CHAIN_ID,
  attemptText,
  chainArgs,
  everyNode,
  expectRefusedByAll,
  within,
} from '../support/chain-quorum.ts';
import { freePort } from '../support/quorum.ts';

let dir: string;
let anvil: Anvil;
let chain: DevChainConfig;
let q: Quorum;
let client: QuorumClient;
const sessions: Session[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkms-access-'));
  anvil = await startAnvil({ port: await freePort(), statePath: join(dir, 'anvil.json') });
  const deployed = await deployDevChain(anvil.url);
  chain = { chainId: deployed.chainId, rpc: anvil.url, accessPass: deployed.accessPass };
  q = await startQuorum(5, 3, { node: () => ({ args: chainArgs([anvil.url]) }) });
  // hedge 2: every recover asks all five nodes at once, so each node's answer is in the report.
  client = await QuorumClient.create({ nodeSet: q.files.nodeSet, hedge: 2 });
  // Every node follows the chain before the first request.
  await within(10_000, performance.now(), 'fresh '.repeat(5).trim(), async () => {
    const ready = await Promise.all(q.nodes.map((n) => httpGet(n!, '/readyz')));
    return ready
      .map((r) => (JSON.parse(r) as { reasons?: { chains?: string } }).reasons?.chains ?? 'fresh')
      .join(' ');
  });
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await client.close();
  await stopQuorum(q);
  await anvil.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Player {
  readonly key: Hex;
  readonly address: Address;
  readonly session: Session;
}

/** A fresh wallet with a session, and ether to pay for its own transactions. */
async function newPlayer(): Promise<Player> {
  const key = generatePrivateKey();
  const session = await playerSession(q.files.nodeSet, walletFromPrivateKey(key));
  sessions.push(session);
  const address = session.address as Address;
  await testClient().setBalance({ address, value: 10n ** 18n });
  return { key, address, session };
}

const testClient = () => createTestClient({ mode: 'anvil', transport: http(anvil.url) });
const publicClient = () =>
  createPublicClient({ chain: devChain(CHAIN_ID, anvil.url), transport: http(anvil.url) });
const pass = (): AccessPolicy => passPolicy(chain);
const time = (notBefore: number | undefined, notAfter: number | undefined): AccessPolicy => ({
  kind: 'time',
  ...(notBefore === undefined ? {} : { notBefore }),
  ...(notAfter === undefined ? {} : { notAfter }),
});

async function publish(publisher: Player, policy: AccessPolicy): Promise<Manifest> {
  const { manifest, receipts } = await client.publish(publisher.session, { policy });
  expect(receipts.map((r) => r.outcome)).toEqual(Array(5).fill('ok'));
  return manifest;
}

/** A recover as text: 'admitted', or each node's rejection code (or outcome), in node order. */
const attempt = (manifest: Manifest, p: Player): Promise<string> =>
  attemptText(client, manifest, p.session);
const expectAdmitted = async (manifest: Manifest, p: Player): Promise<void> => {
  expect(await attempt(manifest, p)).toBe(ADMITTED);
};
/** Every one of the five nodes answered `code`. */
const expectRefused = (manifest: Manifest, p: Player, code: ErrorCode): Promise<void> =>
  expectRefusedByAll(client, manifest, p.session, code);

const accessPass = (): Address => chain.accessPass as Address;

/** Mints `to` the pass of `contentId`; resolves once mined. */
async function grant(contentId: Uint8Array, to: Player): Promise<bigint> {
  return (await grantPass(anvil.url, accessPass(), contentId, to.address)).blockNumber;
}

/** `from` calls `functionName` on `address`, signed by its own key; resolves once mined. */
async function send(
  from: Player,
  address: Address,
  abi: Abi,
  functionName: string,
  args: readonly unknown[],
): Promise<void> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(from.key),
    chain: devChain(CHAIN_ID, anvil.url),
    transport: http(anvil.url),
  });
  const hash = await wallet.writeContract({ address, abi, functionName, args });
  const receipt = await publicClient().waitForTransactionReceipt({ hash, pollingInterval: 50 });
  expect(receipt.status).toBe('success');
}

/** The holder moves its pass of `contentId` with safeTransferFrom. */
async function transferPass(from: Player, to: Address, contentId: Uint8Array): Promise<void> {
  const args = [from.address, to, contentTokenId(contentId), 1n, '0x'];
  await send(from, accessPass(), QKMS_ACCESS_PASS.abi, 'safeTransferFrom', args);
}

/** A node's /readyz or /metrics text. */
async function httpGet(node: Daemon, path: string): Promise<string> {
  return (await fetch(`http://${node.http.host}:${node.http.port}${path}`)).text();
}

/** A node's counter from its /metrics text, summed over its label sets. */
async function metric(index: number, name: string): Promise<number> {
  const text = await httpGet(q.nodes[index - 1]!, '/metrics');
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** Successful polls of the chain head by node `index`. */
async function okPolls(index: number): Promise<number> {
  const text = await httpGet(q.nodes[index - 1]!, '/metrics');
  const line = text
    .split('\n')
    .find((l) => l.startsWith('qkms_policy_polls_total{') && l.includes('result="ok"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('a pass (ERC-1155 balanceOf(wallet, uint256(contentId)) >= 1)', () => {
  it('is refused ACCESS_DENIED at every node without the pass; a grant admits within the freshness bound; a transfer by the holder refuses it again within the bound and admits the recipient', async () => {
    const [publisher, holder, recipient] = [
      await newPlayer(),
      await newPlayer(),
      await newPlayer(),
    ];
    const manifest = await publish(publisher, pass());
    const contentId = manifest.body.contentId;
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
    await expectRefused(manifest, recipient, ErrorCode.ACCESS_DENIED);

    await grant(contentId, holder);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(manifest, holder));

    await transferPass(holder, recipient.address, contentId);
    const transferred = performance.now();
    expect(await hasPass(anvil.url, accessPass(), contentId, holder.address)).toBe(false);
    await within(BOUND_MS, transferred, everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(manifest, holder),
    );
    await within(BOUND_MS, transferred, ADMITTED, () => attempt(manifest, recipient));
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
  });
});

describe('evm-call, time, and combinations with a pass leaf', () => {
  const hasAccess = (value: boolean): AccessPolicy =>
    policyFromJson({
      kind: 'evm-call',
      chain: CHAIN_ID,
      contract: chain.accessPass,
      function: 'hasAccess(bytes32,address)',
      params: [':contentId', ':userAddress'],
      returns: 'bool',
      comparator: '==',
      value,
    });

  it('evm-call hasAccess(bytes32,address) == true admits a holder and refuses a wallet without a pass; == false does the reverse', async () => {
    const [publisher, holder, stranger] = [await newPlayer(), await newPlayer(), await newPlayer()];
    const holders = await publish(publisher, hasAccess(true));
    const others = await publish(publisher, hasAccess(false));
    await expectRefused(holders, holder, ErrorCode.ACCESS_DENIED);
    await expectAdmitted(others, holder);

    await grant(holders.body.contentId, holder);
    await grant(others.body.contentId, holder);
    const granted = performance.now();
    await within(BOUND_MS, granted, ADMITTED, () => attempt(holders, holder));
    await within(BOUND_MS, granted, everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(others, holder),
    );
    await expectRefused(others, holder, ErrorCode.ACCESS_DENIED);
    await expectRefused(holders, stranger, ErrorCode.ACCESS_DENIED);
    await expectAdmitted(others, stranger);
  });

  it('a time window whose notAfter has passed refuses every wallet, the publisher too; one that has not begun refuses; a window around now admits', async () => {
    const [publisher, player] = [await newPlayer(), await newPlayer()];
    const now = Date.now();
    const over = await publish(publisher, time(now - 3_600_000, now - 60_000));
    const notYet = await publish(publisher, time(now + 3_600_000, undefined));
    const open = await publish(publisher, time(now - 60_000, now + 3_600_000));
    await expectRefused(over, player, ErrorCode.ACCESS_DENIED);
    await expectRefused(over, publisher, ErrorCode.ACCESS_DENIED);
    await expectRefused(notYet, player, ErrorCode.ACCESS_DENIED);
    await expectAdmitted(open, player);
  });

  it('or(publisher-only, pass): the publisher recovers without a pass, a holder once granted, a stranger never', async () => {
    const [publisher, holder, stranger] = [await newPlayer(), await newPlayer(), await newPlayer()];
    const manifest = await publish(publisher, {
      kind: 'or',
      conditions: [{ kind: 'publisher-only' }, pass()],
    });
    await expectAdmitted(manifest, publisher);
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
    await grant(manifest.body.contentId, holder);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(manifest, holder));
    await expectRefused(manifest, stranger, ErrorCode.ACCESS_DENIED);
  });

  it('not(pass): a wallet without the pass is admitted, and refused once granted one', async () => {
    const [publisher, holder, stranger] = [await newPlayer(), await newPlayer(), await newPlayer()];
    const manifest = await publish(publisher, { kind: 'not', condition: pass() });
    await expectAdmitted(manifest, holder);
    await grant(manifest.body.contentId, holder);
    await within(BOUND_MS, performance.now(), everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(manifest, holder),
    );
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
    await expectAdmitted(manifest, stranger);
  });

  it('and(pass, time): a holder is refused outside the window and admitted inside it', async () => {
    const [publisher, holder] = [await newPlayer(), await newPlayer()];
    const now = Date.now();
    const over = await publish(publisher, {
      kind: 'and',
      conditions: [pass(), time(undefined, now - 60_000)],
    });
    const open = await publish(publisher, {
      kind: 'and',
      conditions: [pass(), time(now - 60_000, now + 3_600_000)],
    });
    await expectRefused(open, holder, ErrorCode.ACCESS_DENIED);
    await grant(over.body.contentId, holder);
    await grant(open.body.contentId, holder);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(open, holder));
    await expectRefused(over, holder, ErrorCode.ACCESS_DENIED);
  });
});

describe('a reorganisation', () => {
  it('a grant undone by a reorganisation (evm_revert, then blocks mined past the old height) stops admitting within the freshness bound, and every node counts the reorg', async () => {
    const [publisher, holder] = [await newPlayer(), await newPlayer()];
    const manifest = await publish(publisher, pass());
    const contentId = manifest.body.contentId;
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
    const reorgsBefore = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => metric(i, 'qkms_policy_reorgs_total')),
    );

    const snapshot = await testClient().snapshot();
    const granted = await grant(contentId, holder);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(manifest, holder));
    // A node counts the reorg only if it followed the grant's block before the revert: three
    // nodes admitting does not say the other two have. Two polls that end after the grant
    // (one may have started before it) have each taken the grant's block.
    const NODES = [1, 2, 3, 4, 5];
    const polled = await Promise.all(NODES.map(okPolls));
    await within(BOUND_MS, performance.now(), 'followed', async () => {
      const now = await Promise.all(NODES.map(okPolls));
      return now.every((n, i) => n >= (polled[i] ?? 0) + 2) ? 'followed' : now.join(' ');
    });

    await testClient().revert({ id: snapshot });
    await testClient().mine({ blocks: 3 });
    const reorganised = performance.now();
    expect(await publicClient().getBlockNumber()).toBeGreaterThan(granted);
    expect(await hasPass(anvil.url, accessPass(), contentId, holder.address)).toBe(false);
    await within(BOUND_MS, reorganised, everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(manifest, holder),
    );
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED);
    const reorgsAfter = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => metric(i, 'qkms_policy_reorgs_total')),
    );
    reorgsAfter.forEach((n, i) => expect(n).toBeGreaterThan(reorgsBefore[i] ?? 0));
  });
});

/**
 * The part of ERC-721 (EIP-721) a condition reads: ownerOf, and a Transfer
 * log on every move. Compiled here by solc-js; anyone may mint.
 */
const MINI_NFT = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
contract MiniNft {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    mapping(uint256 => address) public ownerOf;
    function mint(address to, uint256 id) external {
        require(ownerOf[id] == address(0), "minted");
        ownerOf[id] = to;
        emit Transfer(address(0), to, id);
    }
    function transferFrom(address from, address to, uint256 id) external {
        require(ownerOf[id] == from && msg.sender == from, "not the owner");
        ownerOf[id] = to;
        emit Transfer(from, to, id);
    }
}`;
const MINI_NFT_ABI = parseAbi([
  'constructor()',
  'function mint(address to, uint256 id)',
  'function transferFrom(address from, address to, uint256 id)',
  'function ownerOf(uint256 id) view returns (address)',
]);

function miniNftBytecode(): Hex {
  const input = {
    language: 'Solidity',
    sources: { 'MiniNft.sol': { content: MINI_NFT } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['evm.bytecode.object'] } } },
  };
  const compiler = solc as unknown as { compile(input: string): string };
  const output = JSON.parse(compiler.compile(JSON.stringify(input))) as {
    contracts?: { 'MiniNft.sol'?: { MiniNft?: { evm: { bytecode: { object: string } } } } };
  };
  const object = output.contracts?.['MiniNft.sol']?.MiniNft?.evm.bytecode.object;
  if (object === undefined) throw new Error(`solc: ${JSON.stringify(output).slice(0, 500)}`);
  return `0x${object}`;
}

describe('an ERC-721 token (ownerOf(tokenId) is the wallet)', () => {
  let nft: Address;
  let nextId = 1n;

  beforeAll(async () => {
    const deployer = await newPlayer();
    const wallet = createWalletClient({
      account: privateKeyToAccount(deployer.key),
      chain: devChain(CHAIN_ID, anvil.url),
      transport: http(anvil.url),
    });
    const hash = await wallet.deployContract({ abi: MINI_NFT_ABI, bytecode: miniNftBytecode() });
    const receipt = await publicClient().waitForTransactionReceipt({ hash, pollingInterval: 50 });
    nft = receipt.contractAddress!;
  });

  /** A token minted to `owner`, content published under "owns it", and the manifest. */
  async function token(publisher: Player, owner: Player): Promise<[bigint, Manifest]> {
    const id = nextId++;
    await send(owner, nft, MINI_NFT_ABI, 'mint', [owner.address, id]);
    const minted = performance.now();
    const manifest = await publish(publisher, {
      kind: 'evm-balance',
      chain: CHAIN_ID,
      standard: 'erc721',
      contract: fromHex(nft.slice(2).toLowerCase()),
      tokenId: id,
      comparator: '>=',
      value: 1n,
    });
    // A node whose state is fresh a bound after the mint has read a head at or past it.
    await sleep(Math.max(0, BOUND_MS - (performance.now() - minted)));
    return [id, manifest];
  }

  it('its owner is admitted and others refused; once the owner transfers it, the old owner is refused and the new one admitted within the freshness bound', async () => {
    const [publisher, owner, next] = [await newPlayer(), await newPlayer(), await newPlayer()];
    const [id, manifest] = await token(publisher, owner);
    await expectAdmitted(manifest, owner);
    await expectRefused(manifest, next, ErrorCode.ACCESS_DENIED);
    await send(owner, nft, MINI_NFT_ABI, 'transferFrom', [owner.address, next.address, id]);
    const moved = performance.now();
    await within(BOUND_MS, moved, everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(manifest, owner),
    );
    await within(BOUND_MS, moved, ADMITTED, () => attempt(manifest, next));
  });

  it('the same when a third wallet asked first: ownerOf(tokenId) is one read shared by every wallet, refreshed by any transfer of the token', async () => {
    // ownerOf's calldata names no wallet, so whoever asks first creates the entry every
    // other wallet's lookup finds; a transfer naming only the owner and the recipient must
    // still refresh it at every node.
    const [publisher, owner, next, bystander] = [
      await newPlayer(),
      await newPlayer(),
      await newPlayer(),
      await newPlayer(),
    ];
    const [id, manifest] = await token(publisher, owner);
    await expectRefused(manifest, bystander, ErrorCode.ACCESS_DENIED);
    await expectAdmitted(manifest, owner);
    await send(owner, nft, MINI_NFT_ABI, 'transferFrom', [owner.address, next.address, id]);
    const moved = performance.now();
    await within(BOUND_MS, moved, everyNode(ErrorCode.ACCESS_DENIED), () =>
      attempt(manifest, owner),
    );
    await within(BOUND_MS, moved, ADMITTED, () => attempt(manifest, next));
  });
});
