// `npm run chain:compile`: compiles the dev chain's contracts
// (deploy/chain/contracts/*.sol, against @openzeppelin/contracts from
// node_modules) with solc-js, through the compiler's standard JSON interface
// (https://docs.soliditylang.org/en/latest/using-the-compiler.html#compiler-input-and-output-json-description),
// and writes cli/dev-chain/artifacts.ts: each contract's ABI, creation and
// runtime code, the compiler version and each source's SHA-256. The settings
// are fixed, and the metadata hash is left out of the bytecode, so the output
// depends on the sources, OpenZeppelin's version and solc's version only,
// never on paths. solc-js runs its bundled soljson.js: nothing is downloaded.
// compile.test.ts checks that the committed artifacts match the sources.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { format, resolveConfig } from 'prettier';
import solc from 'solc';
import type { Abi, Hex } from 'viem';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CONTRACTS_DIR = join(ROOT, 'deploy', 'chain', 'contracts');
export const ARTIFACTS_FILE = join(ROOT, 'cli', 'dev-chain', 'artifacts.ts');

/** Each contract: its source file (also its source unit name) and its export in artifacts.ts. */
export const CONTRACTS = {
  QkmsAccessPass: { file: 'QkmsAccessPass.sol', exportName: 'QKMS_ACCESS_PASS' },
  Multicall3: { file: 'Multicall3.sol', exportName: 'MULTICALL3' },
} as const;
export type ContractName = keyof typeof CONTRACTS;
const CONTRACT_NAMES = Object.keys(CONTRACTS) as ContractName[];

/** The one package the sources import from, resolved from node_modules. */
const OPENZEPPELIN = '@openzeppelin/contracts';

/**
 * Fixed for reproducible bytecode: the optimizer at solc's default 200 runs;
 * cancun, which anvil and every chain qkms targets run; no metadata hash
 * (it would hash the source paths and the settings into the code).
 */
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none' },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
} as const;

export interface CompiledContract {
  readonly abi: Abi;
  /** Creation code. */
  readonly bytecode: Hex;
  /** Runtime code: what eth_getCode returns once deployed. */
  readonly deployedBytecode: Hex;
}

export interface CompiledArtifacts {
  /** solc's full version string, e.g. 0.8.37+commit.….Emscripten.clang. */
  readonly solcVersion: string;
  readonly openZeppelinVersion: string;
  /** Lowercase hex SHA-256 of each contract's source file. */
  readonly sourceSha256: Readonly<Record<ContractName, string>>;
  readonly contracts: Readonly<Record<ContractName, CompiledContract>>;
  /** The compiler's warnings and infos, formatted; errors throw instead. */
  readonly warnings: readonly string[];
}

/** solc-js, typed as far as this file uses it (its own typings say `any`). */
interface SolcJs {
  version(): string;
  compile(input: string, callbacks: { import(path: string): ImportResult }): string;
}
type ImportResult = { readonly contents: string } | { readonly error: string };

/** The part of solc's standard JSON output this file reads. */
interface SolcOutput {
  readonly errors?: readonly {
    readonly severity: string;
    readonly message: string;
    readonly formattedMessage?: string;
  }[];
  readonly contracts?: Readonly<
    Record<
      string,
      Readonly<
        Record<
          string,
          {
            readonly abi?: unknown;
            readonly evm?: {
              readonly bytecode?: { readonly object?: unknown };
              readonly deployedBytecode?: { readonly object?: unknown };
            };
          }
        >
      >
    >
  >;
}

const compiler = solc as unknown as SolcJs;
const require = createRequire(import.meta.url);
const openZeppelinDir = dirname(require.resolve(`${OPENZEPPELIN}/package.json`));

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The import callback: `@openzeppelin/contracts/…` from node_modules, nothing else. */
function resolveImport(path: string): ImportResult {
  const prefix = `${OPENZEPPELIN}/`;
  if (!path.startsWith(prefix)) return { error: `only ${prefix}… imports are resolved` };
  const file = normalize(join(openZeppelinDir, path.slice(prefix.length)));
  const inside = relative(openZeppelinDir, file);
  if (inside.startsWith(`..${sep}`) || inside === '..') {
    return { error: `${path} leaves ${OPENZEPPELIN}` };
  }
  try {
    return { contents: readFileSync(file, 'utf8') };
  } catch (e) {
    return { error: `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function hexCode(value: unknown, what: string): Hex {
  if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(value)) {
    throw new Error(`solc output: ${what} is not non-empty lowercase hex`);
  }
  return `0x${value}`;
}

/**
 * Compiles the dev chain's contracts; pure (reads the sources, writes
 * nothing). Throws, listing every message, when the compiler reports an
 * error; warnings are returned.
 */
export function compileContracts(): CompiledArtifacts {
  const texts = new Map<ContractName, Buffer>();
  for (const name of CONTRACT_NAMES) {
    texts.set(name, readFileSync(join(CONTRACTS_DIR, CONTRACTS[name].file)));
  }
  const sourceOf = (name: ContractName): Buffer => {
    const text = texts.get(name);
    if (text === undefined) throw new Error(`no source read for ${name}`);
    return text;
  };
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(
      CONTRACT_NAMES.map((name) => [
        CONTRACTS[name].file,
        { content: sourceOf(name).toString('utf8') },
      ]),
    ),
    settings: SETTINGS,
  };
  const output = JSON.parse(
    compiler.compile(JSON.stringify(input), { import: resolveImport }),
  ) as SolcOutput;
  const messages = output.errors ?? [];
  const errors = messages.filter((m) => m.severity === 'error');
  if (errors.length > 0) {
    throw new Error(
      `solc ${compiler.version()} failed:\n${errors.map((m) => m.formattedMessage ?? m.message).join('\n')}`,
    );
  }
  const contracts = {} as Record<ContractName, CompiledContract>;
  for (const name of CONTRACT_NAMES) {
    const out = output.contracts?.[CONTRACTS[name].file]?.[name];
    if (out === undefined) throw new Error(`solc output: no contract ${name}`);
    if (!Array.isArray(out.abi)) throw new Error(`solc output: ${name}'s abi is not an array`);
    contracts[name] = {
      abi: out.abi as Abi,
      bytecode: hexCode(out.evm?.bytecode?.object, `${name}'s bytecode`),
      deployedBytecode: hexCode(out.evm?.deployedBytecode?.object, `${name}'s deployedBytecode`),
    };
  }
  const openZeppelin = JSON.parse(readFileSync(join(openZeppelinDir, 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof openZeppelin.version !== 'string') throw new Error(`${OPENZEPPELIN} has no version`);
  return {
    solcVersion: compiler.version(),
    openZeppelinVersion: openZeppelin.version,
    sourceSha256: Object.fromEntries(
      CONTRACT_NAMES.map((name) => [name, sha256Hex(sourceOf(name))]),
    ) as Record<ContractName, string>,
    contracts,
    warnings: messages
      .filter((m) => m.severity !== 'error')
      .map((m) => m.formattedMessage ?? m.message),
  };
}

/** artifacts.ts's text, before prettier. */
export function renderArtifacts(artifacts: CompiledArtifacts): string {
  const lines = [
    `// GENERATED by deploy/chain/compile.ts from deploy/chain/contracts/*.sol: do not edit.`,
    `// Regenerate with \`npm run chain:compile\`; deploy/chain/compile.test.ts fails when this`,
    `// file and the sources disagree. Compiled by solc-js ${artifacts.solcVersion}`,
    `// (optimizer ${String(SETTINGS.optimizer.runs)} runs, evmVersion ${SETTINGS.evmVersion}, no metadata hash)`,
    `// against ${OPENZEPPELIN} ${artifacts.openZeppelinVersion}.`,
    `// Each contract: its abi (a const literal, so viem infers types), creation code`,
    `// (bytecode) and runtime code (deployedBytecode).`,
    '',
    `export const SOLC_VERSION = ${JSON.stringify(artifacts.solcVersion)};`,
    `export const OPENZEPPELIN_CONTRACTS_VERSION = ${JSON.stringify(artifacts.openZeppelinVersion)};`,
    '',
    `/** SHA-256 (hex) of each source file in deploy/chain/contracts/. */`,
    `export const SOURCE_SHA256 = {`,
    ...CONTRACT_NAMES.map(
      (name) =>
        `${JSON.stringify(CONTRACTS[name].file)}: ${JSON.stringify(artifacts.sourceSha256[name])},`,
    ),
    `} as const;`,
  ];
  for (const name of CONTRACT_NAMES) {
    const c = artifacts.contracts[name];
    lines.push(
      '',
      `/** ${name} (deploy/chain/contracts/${CONTRACTS[name].file}). */`,
      `export const ${CONTRACTS[name].exportName} = {`,
      `abi: ${JSON.stringify(c.abi)},`,
      `bytecode: ${JSON.stringify(c.bytecode)},`,
      `deployedBytecode: ${JSON.stringify(c.deployedBytecode)},`,
      `} as const;`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** artifacts.ts's text, formatted with the repository's prettier settings. */
export async function formatArtifacts(artifacts: CompiledArtifacts): Promise<string> {
  const config = (await resolveConfig(ARTIFACTS_FILE)) ?? {};
  return format(renderArtifacts(artifacts), { ...config, filepath: ARTIFACTS_FILE });
}

async function main(): Promise<void> {
  const started = performance.now();
  const artifacts = compileContracts();
  for (const warning of artifacts.warnings) process.stderr.write(`${warning}\n`);
  writeFileSync(ARTIFACTS_FILE, await formatArtifacts(artifacts));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const name of CONTRACT_NAMES) {
    const c = artifacts.contracts[name];
    process.stdout.write(
      `${name}: ${String((c.deployedBytecode.length - 2) / 2)} bytes of runtime code\n`,
    );
  }
  process.stdout.write(
    `wrote ${relative(ROOT, ARTIFACTS_FILE)} (solc ${artifacts.solcVersion}, ${seconds} s)\n`,
  );
}

if (import.meta.main) await main();
