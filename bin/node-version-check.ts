// Stops the `qkms` executable on a Node older than it needs, with one line on
// stderr and exit code 1 instead of a stack trace from deep inside a
// dependency. bin/qkms.ts imports this module first and everything else only
// afterwards (by dynamic import), so on an old Node nothing else is even
// parsed. Keep it free of imports and of syntax newer than Node 12.

/** ML-KEM-768 and ML-DSA-65 in node:crypto arrived in Node 24.7 (decision 0001). */
const MIN_NODE = { major: 24, minor: 7 } as const;

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < MIN_NODE.major || (major === MIN_NODE.major && minor < MIN_NODE.minor)) {
  process.stderr.write(
    `qkms needs Node >= ${MIN_NODE.major}.${MIN_NODE.minor}.0 (this is v${process.versions.node}); ` +
      'install a newer Node (https://nodejs.org) and run qkms with it.\n',
  );
  process.exit(1);
}
