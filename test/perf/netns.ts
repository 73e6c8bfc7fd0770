// Linux network namespaces for the WAN benchmark (wan.bench.ts), made with iproute2 (ip-netns(8),
// veth(4)): for node i, a namespace `qkms-wan-i` holding its loopback and one end of a veth pair,
// `qkms-wan-i-n` at 10.77.i.2/24 with a default route via the other end, `qkms-wan-i` in the
// root namespace at 10.77.i.1/24. A process in namespace i reaches the root namespace's
// 10.77.j.1 for every j (it is a local address there: no forwarding needed), and the root
// namespace reaches 10.77.i.2 over the veth; namespaces do not reach each other's 10.77.j.2.
//
// Everything is named `qkms-wan-*`, so what a killed run left behind is found and removed at the
// next start (removeStale). Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the `ip` command;
// unavailable() says why not, for a benchmark to report itself skipped.
import { execFileSync } from 'node:child_process';

const PREFIX = 'qkms-wan-';
/** The first two octets of every address here (an unlikely private range to collide with). */
const NET = '10.77';
/** 10.77.i.0/24 for node i: at most 254 nodes. */
const MAX_NODES = 254;
/** Each `ip` command is one netlink call; a hung one means something else is wrong. */
const IP_TIMEOUT_MS = 10_000;

function ip(args: readonly string[]): string {
  try {
    return execFileSync('ip', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: IP_TIMEOUT_MS,
    });
  } catch (e) {
    const stderr =
      typeof e === 'object' && e !== null && 'stderr' in e ? String(e.stderr).trim() : '';
    throw new Error(`ip ${args.join(' ')}: ${stderr === '' ? String(e) : stderr}`, { cause: e });
  }
}

/** `ip` that may fail (cleaning up what may not exist). */
function ipQuiet(args: readonly string[]): void {
  try {
    ip(args);
  } catch {
    // absent already
  }
}

/** Why namespaces cannot be made here, or undefined if they can (it makes and removes one). */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN';
  try {
    ip(['-V']);
  } catch {
    return 'no `ip` command (iproute2)';
  }
  const probe = `${PREFIX}probe`;
  try {
    ipQuiet(['netns', 'delete', probe]);
    ip(['netns', 'add', probe]);
    ip(['netns', 'delete', probe]);
  } catch (e) {
    return `ip netns does not work here: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

/** Namespaces and root-side links named `qkms-wan-*`; kills what still runs in them first. */
export function removeStale(): string[] {
  const removed: string[] = [];
  const namespaces = ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  for (const name of namespaces) {
    // Processes in a namespace named by this file are a killed run's nodes.
    for (const pid of ip(['netns', 'pids', name])
      .split('\n')
      .filter((p) => /^\d+$/.test(p)))
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    ipQuiet(['netns', 'delete', name]);
    removed.push(name);
  }
  const links = ip(['-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)[:@]/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  for (const name of links) {
    ipQuiet(['link', 'delete', name]);
    removed.push(`link ${name}`);
  }
  return removed;
}

export interface WanNet {
  readonly count: number;
  /** Node i's namespace. */
  namespace(index: number): string;
  /** The root namespace's address on node i's veth: what the others dial for node i. */
  rootHost(index: number): string;
  /** Node i's address inside its namespace. */
  nsHost(index: number): string;
  /** `command args` run inside node i's namespace. */
  wrap(
    index: number,
    command: string,
    args: readonly string[],
  ): { readonly command: string; readonly args: readonly string[] };
  /** Removes the links and namespaces (synchronous: also from an exit handler). Idempotent. */
  close(): void;
}

/** Namespaces 1..count, linked to the root namespace as described at the top. */
export function createWanNet(count: number): WanNet {
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES)
    throw new RangeError(`netns: count: expected an integer 1..${MAX_NODES}, got ${count}`);
  const namespace = (i: number): string => `${PREFIX}${i}`;
  const rootHost = (i: number): string => `${NET}.${i}.1`;
  const nsHost = (i: number): string => `${NET}.${i}.2`;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (let i = 1; i <= count; i++) {
      // Deleting the root end deletes the pair even while a process keeps the namespace alive.
      ipQuiet(['link', 'delete', namespace(i)]);
      ipQuiet(['netns', 'delete', namespace(i)]);
    }
  };
  try {
    for (let i = 1; i <= count; i++) {
      const ns = namespace(i);
      const inner = `${ns}-n`;
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['link', 'add', ns, 'type', 'veth', 'peer', 'name', inner, 'netns', ns]);
      ip(['addr', 'add', `${rootHost(i)}/24`, 'dev', ns]);
      ip(['link', 'set', ns, 'up']);
      ip(['-n', ns, 'addr', 'add', `${nsHost(i)}/24`, 'dev', inner]);
      ip(['-n', ns, 'link', 'set', inner, 'up']);
      ip(['-n', ns, 'route', 'add', 'default', 'via', rootHost(i)]);
    }
  } catch (e) {
    close();
    throw e;
  }
  return {
    count,
    namespace,
    rootHost,
    nsHost,
    wrap: (index, command, args) => ({
      command: 'ip',
      args: ['netns', 'exec', namespace(index), command, ...args],
    }),
    close,
  };
}
