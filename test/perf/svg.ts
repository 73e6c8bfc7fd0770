// What the hand-written SVG plots (plot-latency.ts, plot-throughput.ts) share: escaping, and
// the document's opening — white background, a bold title and a line naming the machine.
import type { Runtime } from './report.ts';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The first lines of a plot: the <svg> element, its background, `title` and the runtime. */
export function svgOpening(
  size: { readonly width: number; readonly height: number },
  left: number,
  title: string,
  runtime: Runtime | undefined,
): string[] {
  const { width, height } = size;
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (runtime !== undefined)
    lines.push(
      `<text x="${left}" y="40" fill="#555555">${escapeXml(
        `${runtime.cpus.count} x ${runtime.cpus.model}, Node ${runtime.node}, OpenSSL ${runtime.openssl}; one QuorumClient, hedge 1`,
      )}</text>`,
    );
  return lines;
}
