#!/usr/bin/env node
// The `qkms` executable. Runs on the Node the project pins (node_modules/.bin/node,
// put first on PATH by npm scripts and npx), which strips the types itself.
import { main } from '../cli/main.ts';
import { processIo } from '../cli/io.ts';

process.exitCode = await main(process.argv.slice(2), processIo());
