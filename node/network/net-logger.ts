// The logger the network layer writes to: constant message strings plus a
// context whose values are text, numbers or flags — never bytes (STYLE.md,
// "The daemon"). The daemon passes its own logger, which satisfies this.

/** Context of one log line: no Uint8Array, so no key or share can slip in. */
export type LogContext = Readonly<Record<string, string | number | boolean>>;

export interface NetLogger {
  debug(msg: string, ctx?: LogContext): void;
  info(msg: string, ctx?: LogContext): void;
  warn(msg: string, ctx?: LogContext): void;
  error(msg: string, ctx?: LogContext): void;
}
