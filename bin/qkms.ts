#!/usr/bin/env node
// The `qkms` executable. Runs on the Node the project pins (node_modules/.bin/node,
// put first on PATH by npm scripts and npx), which strips the types itself.
import { main } from '../node/index.ts';

process.exitCode = await main(process.argv.slice(2));
