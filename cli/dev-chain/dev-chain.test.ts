// The dev chain against a real anvil (started here on a free loopback port):
// deployDevChain puts QkmsAccessPass and Multicall3's code in place; a grant
// gives access, a revoke or a transfer by the holder takes it away, and
// balanceOf, hasAccess and viem's default multicall agree; a restart from the
// state file keeps the contract and the passes; startAnvil refuses a taken
// port and reports an anvil that exits early.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPublicClient,
  createWalletClient,
  getContractAddress,
  http,
  toHex,
  type Address,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from './anvil.ts';
import { MULTICALL3, QKMS_ACCESS_PASS } from './artifacts.ts';
import {
  MULTICALL3_ADDRESS,
  contentTokenId,
  deployDevChain,
  devChain,
  grantPass,
  hasPass,
  revokePass,
  type DevChainDeployment,
} from './deploy.ts';

/** anvil's account 1 (its default mnemonic): public, a holder that signs its own transfer. */
const HOLDER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const holder = privateKeyToAccount(HOLDER_KEY);
const WALLET: Address = '0x1111111111111111111111111111111111111111';
const RECIPIENT: Address = '0x2222222222222222222222222222222222222222';
/** A content id with its top bit set: the token id is all 256 bits, unsigned. */
const CONTENT = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);
const OTHER_CONTENT = new Uint8Array(32).fill(0x11);

/** A port nothing listens on now, from the kernel. */
async function freePort(): Promise<number> {
  const server = await listening();
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function listening(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'qkms-dev-chain-'));
const statePath = join(dir, 'state.json');
let port = 0;
let anvil: Anvil | undefined;
let deployment: DevChainDeployment;

function chainUrl(): string {
  if (anvil === undefined) throw new Error('anvil is not running');
  return anvil.url;
}

function publicClient() {
  return createPublicClient({ chain: devChain(31337, chainUrl()), transport: http(chainUrl()) });
}

function balanceOf(wallet: Address, contentId: Uint8Array): Promise<bigint> {
  return publicClient().readContract({
    address: deployment.accessPass,
    abi: QKMS_ACCESS_PASS.abi,
    functionName: 'balanceOf',
    args: [wallet, contentTokenId(contentId)],
  });
}

beforeAll(async () => {
  port = await freePort();
  anvil = await startAnvil({ port, statePath });
});

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dev chain on a real anvil', () => {
  it('starts anvil on the port asked for, answering chain id 31337', () => {
    expect(anvil?.url).toBe(`http://127.0.0.1:${port}`);
    expect(anvil?.chainId).toBe(31337);
    expect(anvil?.pid).toBeGreaterThan(0);
  });

  it("deploys QkmsAccessPass at account 0's first contract address and Multicall3's code at its canonical address", async () => {
    deployment = await deployDevChain(chainUrl());
    const client = publicClient();
    expect(deployment.chainId).toBe(31337);
    expect(deployment.multicall).toBe(MULTICALL3_ADDRESS);
    expect(deployment.accessPass).toBe(
      getContractAddress({ from: deployment.deployer, nonce: 0n }),
    );
    expect(await client.getCode({ address: deployment.accessPass })).toBe(
      QKMS_ACCESS_PASS.deployedBytecode,
    );
    expect(await client.getCode({ address: MULTICALL3_ADDRESS })).toBe(MULTICALL3.deployedBytecode);
    expect(
      await client.readContract({
        address: deployment.accessPass,
        abi: QKMS_ACCESS_PASS.abi,
        functionName: 'owner',
      }),
    ).toBe(deployment.deployer);
  });

  it('a grant gives access: hasAccess true, balanceOf(wallet, uint256(contentId)) 1, and a second grant leaves it at 1', async () => {
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, WALLET)).toBe(false);
    const granted = await grantPass(chainUrl(), deployment.accessPass, CONTENT, WALLET);
    expect(granted.blockNumber).toBeGreaterThan(0n);
    expect(granted.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, WALLET)).toBe(true);
    expect(await balanceOf(WALLET, CONTENT)).toBe(1n);
    expect(contentTokenId(CONTENT)).toBe(BigInt(toHex(CONTENT)));
    expect(await hasPass(chainUrl(), deployment.accessPass, OTHER_CONTENT, WALLET)).toBe(false);

    await grantPass(chainUrl(), deployment.accessPass, CONTENT, WALLET);
    expect(await balanceOf(WALLET, CONTENT)).toBe(1n);
  });

  it("viem's default multicall (Multicall3's address) reads the same balanceOf and hasAccess, and reports a failed call", async () => {
    const pass = { address: deployment.accessPass, abi: QKMS_ACCESS_PASS.abi } as const;
    const results = await publicClient().multicall({
      allowFailure: true,
      contracts: [
        { ...pass, functionName: 'balanceOf', args: [WALLET, contentTokenId(CONTENT)] },
        { ...pass, functionName: 'hasAccess', args: [toHex(CONTENT), WALLET] },
        { ...pass, functionName: 'hasAccess', args: [toHex(OTHER_CONTENT), WALLET] },
        // Reverts: ERC1155InvalidArrayLength.
        { ...pass, functionName: 'balanceOfBatch', args: [[WALLET, RECIPIENT], [1n]] },
      ],
    });
    expect(results.slice(0, 3)).toEqual([
      { status: 'success', result: 1n },
      { status: 'success', result: true },
      { status: 'success', result: false },
    ]);
    expect(results[3].status).toBe('failure');

    await expect(
      publicClient().multicall({
        allowFailure: false,
        contracts: [{ ...pass, functionName: 'balanceOfBatch', args: [[WALLET], []] }],
      }),
    ).rejects.toThrow();
  });

  it('a revoke takes access away (balance 0); revoking again is a no-op', async () => {
    await revokePass(chainUrl(), deployment.accessPass, CONTENT, WALLET);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, WALLET)).toBe(false);
    expect(await balanceOf(WALLET, CONTENT)).toBe(0n);
    await revokePass(chainUrl(), deployment.accessPass, CONTENT, WALLET);
    expect(await balanceOf(WALLET, CONTENT)).toBe(0n);
  });

  it('a holder that transfers its pass with safeTransferFrom loses access, and the recipient gains it', async () => {
    await grantPass(chainUrl(), deployment.accessPass, CONTENT, holder.address);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, holder.address)).toBe(true);
    const wallet = createWalletClient({
      account: holder,
      chain: devChain(31337, chainUrl()),
      transport: http(chainUrl()),
    });
    const hash = await wallet.writeContract({
      address: deployment.accessPass,
      abi: QKMS_ACCESS_PASS.abi,
      functionName: 'safeTransferFrom',
      args: [holder.address, RECIPIENT, contentTokenId(CONTENT), 1n, '0x'],
    });
    const receipt = await publicClient().waitForTransactionReceipt({ hash, pollingInterval: 100 });
    expect(receipt.status).toBe('success');
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, holder.address)).toBe(false);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, RECIPIENT)).toBe(true);
  });

  it('only the owner grants: account 1 calling grant is refused (OwnableUnauthorizedAccount)', async () => {
    const wallet = createWalletClient({
      account: holder,
      chain: devChain(31337, chainUrl()),
      transport: http(chainUrl()),
    });
    await expect(
      wallet.writeContract({
        address: deployment.accessPass,
        abi: QKMS_ACCESS_PASS.abi,
        functionName: 'grant',
        args: [holder.address, toHex(CONTENT)],
      }),
    ).rejects.toThrow(/OwnableUnauthorizedAccount/);
  });

  it('refuses a content id that is not 32 bytes, and a wallet that is not an address', async () => {
    const url = chainUrl();
    const pass = deployment.accessPass;
    await expect(grantPass(url, pass, new Uint8Array(31), WALLET)).rejects.toThrow(
      'contentId: expected 32 bytes, got length 31',
    );
    await expect(hasPass(url, pass, new Uint8Array(33), WALLET)).rejects.toThrow(
      'contentId: expected 32 bytes, got length 33',
    );
    await expect(revokePass(url, pass, CONTENT, '0x1234')).rejects.toThrow(
      'wallet: expected a 20-byte 0x address',
    );
    expect(() => contentTokenId(new Uint8Array(0))).toThrow('got length 0');
  });

  it('startAnvil on a port already in use (this anvil, or any listener) throws an error saying so', async () => {
    await expect(startAnvil({ port })).rejects.toThrow(
      `port ${port} on 127.0.0.1 is already in use`,
    );
    const other = await listening(await freePort());
    const taken = (other.address() as { port: number }).port;
    try {
      await expect(startAnvil({ port: taken })).rejects.toThrow(
        `port ${taken} on 127.0.0.1 is already in use`,
      );
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('startAnvil reports an anvil that exits early, quoting its output', async () => {
    const corrupt = join(dir, 'corrupt-state.json');
    writeFileSync(corrupt, 'not json');
    await expect(startAnvil({ port: await freePort(), statePath: corrupt })).rejects.toThrow(
      /exited before answering[\s\S]*failed to parse json/,
    );
  });

  it('refuses a port outside 1..65535 and a chain id below 1', async () => {
    await expect(startAnvil({ port: 0 })).rejects.toThrow('port: expected an integer in 1..65535');
    await expect(startAnvil({ port: 70000 })).rejects.toThrow('got 70000');
    await expect(startAnvil({ port, chainId: 0 })).rejects.toThrow(
      'chainId: expected a positive integer',
    );
  });

  it('after a stop and a restart from the state file, deployDevChain reuses the contract and the pass is still held', async () => {
    const first = anvil;
    await first?.stop();
    await first?.stop(); // idempotent
    anvil = await startAnvil({ port, statePath });
    expect(anvil.pid).not.toBe(first?.pid);
    const nonce = await publicClient().getTransactionCount({ address: deployment.deployer });
    expect(nonce).toBeGreaterThan(0);
    const again = await deployDevChain(chainUrl());
    expect(again).toEqual(deployment);
    // Found, not deployed again: the deployer sent nothing.
    expect(await publicClient().getTransactionCount({ address: deployment.deployer })).toBe(nonce);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, RECIPIENT)).toBe(true);
    expect(await hasPass(chainUrl(), deployment.accessPass, CONTENT, WALLET)).toBe(false);
    // The deployer's nonce survived too: a grant after the restart is mined.
    await grantPass(chainUrl(), deployment.accessPass, OTHER_CONTENT, WALLET);
    expect(await hasPass(chainUrl(), deployment.accessPass, OTHER_CONTENT, WALLET)).toBe(true);
  });
});
