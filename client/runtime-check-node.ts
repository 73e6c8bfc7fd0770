// Refuses a Node older than the client supports, as a module's only effect:
// client/entry-node.ts imports it first, and ES modules evaluate imports in
// order before the importer's body, so this runs before any of the library.
import { checkNodeRuntime } from './runtime-check.ts';

checkNodeRuntime(process.versions.node);
