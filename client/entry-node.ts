// The entry of the @qkms/client package under the `node` condition (decision
// 0013): first the Node version check, then the client library, exactly
// client/index.ts. The check is a module of its own because an importer's
// body runs only after everything it imports has run.
import './runtime-check-node.ts';

export * from './index.ts';
