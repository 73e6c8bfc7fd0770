// The dev chain's contracts on a running anvil (issue 16), through viem:
// Multicall3's stand-in (deploy/chain/contracts/Multicall3.sol) set at
// Multicall3's canonical address with anvil_setCode, so a client's default
// multicall works as on a public chain; QkmsAccessPass deployed from anvil's
// account 0, or found again when anvil restored a state file that has it; and
// the dev commands' grant, revoke and check of a pass. A pass is the ERC-1155
// token uint256(contentId) of the access pass contract. Every transaction is
// sent from ANVIL_DEV_PRIVATE_KEY, one at a time per process, and waited for.
import {
  bytesToBigInt,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  getContractAddress,
  http,
  isAddress,
  toHex,
  type Address,
  type Chain,
  type Hash,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_DEV_PRIVATE_KEY } from './anvil.ts';
import { MULTICALL3, QKMS_ACCESS_PASS } from './artifacts.ts';

/** Where Multicall3 lives on every public chain, and where viem's multicall looks for it. */
export const MULTICALL3_ADDRESS: Address = '0xcA11bde05977b3631167028862bE2a173976CA11';
/** A content id, and so a pass's token id, is 32 bytes. */
export const CONTENT_ID_BYTES = 32;
/** A local anvil mines in milliseconds; viem's default 4 s would make every receipt wait for it. */
const POLLING_INTERVAL_MS = 100;
/** anvil mines a transaction at once, or within its block time: this catches a stuck one. */
const RECEIPT_TIMEOUT_MS = 60_000;

export interface DevChainDeployment {
  readonly chainId: number;
  /** QkmsAccessPass. */
  readonly accessPass: Address;
  /** Always MULTICALL3_ADDRESS. */
  readonly multicall: Address;
  /** The owner of the access pass: anvil's account 0. */
  readonly deployer: Address;
}

/** A mined grant or revoke. */
export interface PassTransaction {
  readonly blockNumber: bigint;
  readonly txHash: Hash;
}

const deployer = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEY);

/** viem's description of the dev chain at RPC_URL, Multicall3 included. */
export function devChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: 'qkms dev chain (anvil)',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    contracts: { multicall3: { address: MULTICALL3_ADDRESS } },
    testnet: true,
  });
}

/** The ERC-1155 token id of CONTENT_ID's pass: the 32 bytes read as a big-endian uint256. */
export function contentTokenId(contentId: Uint8Array): bigint {
  return bytesToBigInt(assertContentId(contentId));
}

function assertContentId(contentId: Uint8Array): Uint8Array {
  if (!(contentId instanceof Uint8Array)) {
    throw new TypeError(`contentId: expected Uint8Array, got ${typeof contentId}`);
  }
  if (contentId.length !== CONTENT_ID_BYTES) {
    throw new RangeError(
      `contentId: expected ${CONTENT_ID_BYTES} bytes, got length ${contentId.length}`,
    );
  }
  return contentId;
}

function assertAddress(value: string, name: string): Address {
  if (typeof value !== 'string' || !isAddress(value)) {
    throw new TypeError(
      `${name}: expected a 20-byte 0x address (checksummed if mixed-case), got ${typeof value === 'string' ? `a string of length ${value.length}` : typeof value}`,
    );
  }
  return value;
}

async function connect(rpcUrl: string) {
  const transport = http(rpcUrl);
  const chainId = await createPublicClient({ transport }).getChainId();
  const chain = devChain(chainId, rpcUrl);
  const options = { chain, transport, pollingInterval: POLLING_INTERVAL_MS };
  return {
    chainId,
    publicClient: createPublicClient(options),
    walletClient: createWalletClient({ ...options, account: deployer }),
    testClient: createTestClient({ ...options, mode: 'anvil' }),
  };
}

/**
 * The transactions of this process, one at a time: viem takes each one's
 * nonce from the chain, so two in flight would get the same.
 */
let sending: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = sending.then(task, task);
  sending = run.catch(() => undefined);
  return run;
}

function sameCode(code: Hex | undefined, expected: Hex): boolean {
  return code !== undefined && code.toLowerCase() === expected.toLowerCase();
}

/**
 * Puts the dev chain's contracts on the anvil at RPC_URL: Multicall3's code
 * at its canonical address (unless already there), and QkmsAccessPass,
 * reused when the deployer's first contract address already holds its
 * runtime code (anvil restored from a state file), else deployed.
 */
export function deployDevChain(rpcUrl: string): Promise<DevChainDeployment> {
  return oneAtATime(async () => {
    const { chainId, publicClient, walletClient, testClient } = await connect(rpcUrl);
    const holds = async (address: Address, code: Hex): Promise<boolean> =>
      sameCode(await publicClient.getCode({ address }), code);

    if (!(await holds(MULTICALL3_ADDRESS, MULTICALL3.deployedBytecode))) {
      await testClient.setCode({
        address: MULTICALL3_ADDRESS,
        bytecode: MULTICALL3.deployedBytecode,
      });
      if (!(await holds(MULTICALL3_ADDRESS, MULTICALL3.deployedBytecode))) {
        throw new Error(`dev chain: anvil_setCode left other code at ${MULTICALL3_ADDRESS}`);
      }
    }

    const restored = getContractAddress({ from: deployer.address, nonce: 0n });
    if (await holds(restored, QKMS_ACCESS_PASS.deployedBytecode)) {
      return {
        chainId,
        accessPass: restored,
        multicall: MULTICALL3_ADDRESS,
        deployer: deployer.address,
      };
    }
    const hash = await walletClient.deployContract({
      abi: QKMS_ACCESS_PASS.abi,
      bytecode: QKMS_ACCESS_PASS.bytecode,
    });
    const receipt = await publicClient.waitForTransactionReceipt({
      hash,
      timeout: RECEIPT_TIMEOUT_MS,
    });
    if (receipt.status !== 'success' || receipt.contractAddress == null) {
      throw new Error(`dev chain: deploying QkmsAccessPass failed (transaction ${hash})`);
    }
    // Receipts give it in lowercase; every address this file returns is checksummed.
    const accessPass = getAddress(receipt.contractAddress);
    if (!(await holds(accessPass, QKMS_ACCESS_PASS.deployedBytecode))) {
      throw new Error(`dev chain: ${accessPass} does not hold QkmsAccessPass's runtime code`);
    }
    return { chainId, accessPass, multicall: MULTICALL3_ADDRESS, deployer: deployer.address };
  });
}

async function sendPassTransaction(
  functionName: 'grant' | 'revoke',
  rpcUrl: string,
  accessPass: Address,
  contentId: Uint8Array,
  wallet: Address,
): Promise<PassTransaction> {
  const contract = assertAddress(accessPass, 'accessPass');
  const id = toHex(assertContentId(contentId));
  const holder = assertAddress(wallet, 'wallet');
  return oneAtATime(async () => {
    const { publicClient, walletClient } = await connect(rpcUrl);
    const hash = await walletClient.writeContract({
      address: contract,
      abi: QKMS_ACCESS_PASS.abi,
      functionName,
      args: [holder, id],
    });
    const receipt = await publicClient.waitForTransactionReceipt({
      hash,
      timeout: RECEIPT_TIMEOUT_MS,
    });
    if (receipt.status !== 'success') {
      throw new Error(`dev chain: ${functionName} reverted (transaction ${hash})`);
    }
    return { blockNumber: receipt.blockNumber, txHash: hash };
  });
}

/** Gives WALLET the pass of CONTENT_ID (a no-op on chain when it holds one); resolves once mined. */
export async function grantPass(
  rpcUrl: string,
  accessPass: Address,
  contentId: Uint8Array,
  wallet: Address,
): Promise<PassTransaction> {
  return sendPassTransaction('grant', rpcUrl, accessPass, contentId, wallet);
}

/** Burns every pass of CONTENT_ID that WALLET holds; resolves once mined. */
export async function revokePass(
  rpcUrl: string,
  accessPass: Address,
  contentId: Uint8Array,
  wallet: Address,
): Promise<PassTransaction> {
  return sendPassTransaction('revoke', rpcUrl, accessPass, contentId, wallet);
}

/** Whether WALLET holds a pass of CONTENT_ID now (QkmsAccessPass.hasAccess at the latest block). */
export async function hasPass(
  rpcUrl: string,
  accessPass: Address,
  contentId: Uint8Array,
  wallet: Address,
): Promise<boolean> {
  const contract = assertAddress(accessPass, 'accessPass');
  const id = toHex(assertContentId(contentId));
  const holder = assertAddress(wallet, 'wallet');
  const publicClient = createPublicClient({ transport: http(rpcUrl) });
  return publicClient.readContract({
    address: contract,
    abi: QKMS_ACCESS_PASS.abi,
    functionName: 'hasAccess',
    args: [id, holder],
  });
}
