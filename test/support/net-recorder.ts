// A quiet NetLogger that keeps its lines for a test to read.
import type { LogContext, NetLogger } from '../../node/network/index.ts';

export interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly ctx: LogContext;
}

export function recorder(): NetLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (msg: string, ctx: LogContext = {}) => {
      lines.push({ level, msg, ctx });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
