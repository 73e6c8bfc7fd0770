// Unit tests: pure, in-process, parallel. They sit beside the code they test.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shamir,protocol,revocation,node,client,cli}/**/*.test.ts', 'deploy/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
