// The folder of the package that holds this code: the nearest ancestor with
// a package.json. In the repository that is its root; in the installed `qkms`
// package (decision 0013) the code sits one level deeper, under dist/, so a
// fixed relative path would miss it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `moduleUrl`'s folder that holds a package.json; its folder if none. */
export function packageRoot(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}
