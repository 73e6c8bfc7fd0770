#!/usr/bin/env node
// The `qkms` executable. In this repository it runs on the Node the project
// pins (node_modules/.bin/node, first on PATH for npm scripts and npx), which
// strips the types itself; installed from the `qkms` package it is the tsc
// emit (decision 0013). The Node version check comes first, and the CLI is
// loaded only after it passed: a static import would be parsed and linked
// before the check could run. Then Node's compile cache, before the CLI's
// modules load (decision 0018): a start reuses their compiled code and, for
// .ts files, their stripped JavaScript.
import './node-version-check.ts';

const { enableCompileCache } = await import('../cli/process-settings.ts');
enableCompileCache();

const { main } = await import('../cli/main.ts');
const { processIo } = await import('../cli/io.ts');

process.exitCode = await main(process.argv.slice(2), processIo());
