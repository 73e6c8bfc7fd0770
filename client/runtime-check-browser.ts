// Names every web feature the runtime lacks, as a module's only effect:
// client/entry-browser.ts and the browser bundle import it first, and ES
// modules evaluate imports in order before the importer's body, so this runs
// before any of the library.
import { checkBrowserRuntime } from './runtime-check.ts';

checkBrowserRuntime(globalThis);
