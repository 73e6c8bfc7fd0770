// Public entry of the node layer: the daemon and its command line.
export { main } from './cli/main.ts';
