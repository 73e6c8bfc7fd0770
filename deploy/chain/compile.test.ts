// That cli/dev-chain/artifacts.ts is what deploy/chain/compile.ts makes of
// the contracts in deploy/chain/contracts/ today: same source hashes, same
// compiler, same ABIs and bytecode, same text. A contract edited without
// `npm run chain:compile` fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as committed from '../../cli/dev-chain/artifacts.ts';
import {
  ARTIFACTS_FILE,
  CONTRACTS,
  compileContracts,
  formatArtifacts,
  type CompiledArtifacts,
  type ContractName,
} from './compile.ts';

const STALE =
  'cli/dev-chain/artifacts.ts is stale: run `npm run chain:compile` and commit the result';
/** solc-js compiles OpenZeppelin's ERC1155 in seconds; a loaded CI machine is slower. */
const COMPILE_TIMEOUT_MS = 120_000;

let compiled: CompiledArtifacts | undefined;
function compileOnce(): CompiledArtifacts {
  compiled ??= compileContracts();
  return compiled;
}

const names = Object.keys(CONTRACTS) as ContractName[];

describe('cli/dev-chain/artifacts.ts', () => {
  it(
    'records the SHA-256 of each contract source as it is now',
    () => {
      const fresh = compileOnce();
      for (const name of names) {
        expect(committed.SOURCE_SHA256[CONTRACTS[name].file], `${name}: ${STALE}`).toBe(
          fresh.sourceSha256[name],
        );
      }
    },
    COMPILE_TIMEOUT_MS,
  );

  it(
    'was compiled by the solc and OpenZeppelin versions installed',
    () => {
      const fresh = compileOnce();
      expect(committed.SOLC_VERSION, STALE).toBe(fresh.solcVersion);
      expect(committed.OPENZEPPELIN_CONTRACTS_VERSION, STALE).toBe(fresh.openZeppelinVersion);
    },
    COMPILE_TIMEOUT_MS,
  );

  it.each(names)(
    "holds %s's abi, creation code and runtime code as a fresh compile makes them",
    (name) => {
      const fresh = compileOnce().contracts[name];
      const artifact = committed[CONTRACTS[name].exportName];
      expect(artifact.abi, `${name}'s abi: ${STALE}`).toEqual(fresh.abi);
      expect(artifact.bytecode, `${name}'s bytecode: ${STALE}`).toBe(fresh.bytecode);
      expect(artifact.deployedBytecode, `${name}'s deployedBytecode: ${STALE}`).toBe(
        fresh.deployedBytecode,
      );
    },
    COMPILE_TIMEOUT_MS,
  );

  it(
    'is exactly the text compile.ts writes (prettier-formatted, nothing edited by hand)',
    async () => {
      const text = await formatArtifacts(compileOnce());
      expect(readFileSync(ARTIFACTS_FILE, 'utf8') === text, STALE).toBe(true);
    },
    COMPILE_TIMEOUT_MS,
  );

  it(
    'compiles without compiler warnings',
    () => {
      expect(compileOnce().warnings).toEqual([]);
    },
    COMPILE_TIMEOUT_MS,
  );
});
