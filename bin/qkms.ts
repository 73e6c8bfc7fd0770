#!/usr/bin/env node
// The `qkms` executable. Runs on the Node the project pins (node_modules/.bin/node,
// put first on PATH by npm scripts and npx), which strips the types itself.
// The node's commands and the client's meet here: neither layer imports the other.
import { CLIENT_COMMANDS } from '../client/cli/index.ts';
import { main, processIo } from '../node/cli/main.ts';

process.exitCode = await main(process.argv.slice(2), processIo(), CLIENT_COMMANDS);
