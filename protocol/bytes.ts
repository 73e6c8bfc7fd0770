// Byte-string helpers shared by every layer above shamir/. Plain Uint8Array
// in, plain Uint8Array out; Buffer only ever appears at a node:* edge.

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Lower-case hex without prefix; throws RangeError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex))
    throw new RangeError(`fromHex: expected even-length lower-case hex, got ${hex.length} chars`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Overwrites a secret buffer. JS cannot promise no copy survives elsewhere (docs/threat-model.md). */
export function wipe(...buffers: readonly (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

/** A copy that owns its own ArrayBuffer (safe to hand to APIs that take `.buffer`). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}
