// What Linux says about a process (proc(5)): the CPU time it has used and its resident memory,
// read from /proc/<pid>/stat and /proc/<pid>/status. For the node processes of a benchmark
// quorum; this process measures itself with process.cpuUsage() and process.memoryUsage().
import { readFileSync } from 'node:fs';

/**
 * Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on every Linux architecture
 * Node runs on (the kernel's internal HZ does not show through). Node has no sysconf(_SC_CLK_TCK).
 */
const USER_HZ = 100;
const MIB = 2 ** 20;

/** User plus system CPU time process `pid` has used so far, ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) state".
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(
      `bench: /proc/${pid}/stat: expected utime and stime, got "${stat.slice(0, 80)}"`,
    );
  return ((utime + stime) * 1000) / USER_HZ;
}

/** Resident set size of process `pid` now (VmRSS), MiB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`bench: /proc/${pid}/status: no VmRSS line`);
  return (Number(kb) * 1024) / MIB;
}

/** CPU time this process has used so far (process.cpuUsage), ms. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Samples the RSS of some processes every `intervalMs` until stopped; stop() returns each one's
 * largest sample, MiB. A process that has ended is skipped.
 */
export function sampleRss(
  pids: readonly number[],
  intervalMs: number,
): { stop: () => Map<number, number> } {
  const peak = new Map<number, number>();
  const sample = (): void => {
    for (const pid of pids) {
      try {
        peak.set(pid, Math.max(peak.get(pid) ?? 0, rssMb(pid)));
      } catch {
        // ended meanwhile
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
