// The web player's clip: a short WAV synthesized here (no sample file, no
// network), and the chunked AES-256-GCM format it is encrypted in
// (README.md, "The clip format"; player.js decrypts it):
//
//   clip.enc = header ‖ chunk_0 ‖ … ‖ chunk_{N−1}
//   header   = "QKMSCLP1" ‖ u32 chunkBytes ‖ u32 N ‖ u64 clipBytes ‖ contentId (32)   (56 bytes, big-endian)
//   chunk_i  = AES-256-GCM(CEK, nonce_i, plaintext_i, aad_i) = ciphertext ‖ 16-byte tag
//   nonce_i  = 00 00 00 00 ‖ u64 i
//   aad_i    = header ‖ u64 i ‖ final_i (1 byte: 1 for the last chunk, else 0)
//
// The header (and with it the content id, the chunk size and count) is bound
// into every chunk's tag, as are the chunk's index and whether it is the last,
// so chunks cannot be reordered, dropped, truncated or moved to another clip.
// Nonces repeat across clips, so one CEK must encrypt one clip only: every
// build makes a fresh CEK and content id.
import { createCipheriv, createHash } from 'node:crypto';

export const CLIP_MAGIC = 'QKMSCLP1';
export const CLIP_HEADER_BYTES = 56;
/** 64 KiB of clip per chunk: a player can decrypt and buffer as it downloads. */
export const CLIP_CHUNK_BYTES = 64 * 1024;
export const GCM_TAG_BYTES = 16;
export const CLIP_MEDIA_TYPE = 'audio/wav';

const CONTENT_ID_BYTES = 32;
const CEK_BYTES = 32;
/** Mono, 16-bit, 22.05 kHz: a clear tone at a small size (3 s ≈ 129 KiB, three chunks). */
const SAMPLE_RATE_HZ = 22_050;
/** C5, E5, G5, C6: one arpeggio, 0.75 s a note. */
const NOTES_HZ = [523.25, 659.25, 783.99, 1046.5] as const;
const NOTE_SECONDS = 0.75;
/** Peak amplitude, of full scale: loud enough to hear, far from clipping. */
const AMPLITUDE = 0.3;

/** A 3-second WAV (RIFF, PCM s16le, mono): four sine notes with a soft attack and decay. */
export function synthesizeClip(): Uint8Array {
  const perNote = Math.round(SAMPLE_RATE_HZ * NOTE_SECONDS);
  const samples = perNote * NOTES_HZ.length;
  const dataBytes = samples * 2;
  const wav = new Uint8Array(44 + dataBytes);
  const view = new DataView(wav.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) wav[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, SAMPLE_RATE_HZ, true);
  view.setUint32(28, SAMPLE_RATE_HZ * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  NOTES_HZ.forEach((hz, note) => {
    for (let i = 0; i < perNote; i++) {
      const t = i / SAMPLE_RATE_HZ;
      const envelope = Math.min(1, t / 0.01) * Math.exp(-3 * t);
      const tone = Math.sin(2 * Math.PI * hz * t) + 0.25 * Math.sin(4 * Math.PI * hz * t);
      const value = Math.round((AMPLITUDE / 1.25) * envelope * tone * 32_767);
      view.setInt16(44 + 2 * (note * perNote + i), value, true);
    }
  });
  return wav;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function header(contentId: Uint8Array, clipBytes: number, chunks: number): Uint8Array {
  const out = new Uint8Array(CLIP_HEADER_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < CLIP_MAGIC.length; i++) out[i] = CLIP_MAGIC.charCodeAt(i);
  view.setUint32(8, CLIP_CHUNK_BYTES);
  view.setUint32(12, chunks);
  view.setBigUint64(16, BigInt(clipBytes));
  out.set(contentId, 24);
  return out;
}

/** nonce_i and aad_i of chunk `index` (see the top of this file). */
export function chunkNonceAndAad(
  head: Uint8Array,
  index: number,
  final: boolean,
): { nonce: Uint8Array; aad: Uint8Array } {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(index));
  const aad = new Uint8Array(CLIP_HEADER_BYTES + 9);
  aad.set(head);
  new DataView(aad.buffer).setBigUint64(CLIP_HEADER_BYTES, BigInt(index));
  aad[CLIP_HEADER_BYTES + 8] = final ? 1 : 0;
  return { nonce, aad };
}

export interface EncryptedClip {
  readonly bytes: Uint8Array;
  readonly chunks: number;
}

/**
 * Encrypts `clip` under `cek` for `contentId` in the format above. The
 * caller owns `cek` and wipes it; node:crypto copies it into its own
 * cipher state, which JavaScript cannot wipe (docs/crypto.md).
 */
export function encryptClip(
  cek: Uint8Array,
  contentId: Uint8Array,
  clip: Uint8Array,
): EncryptedClip {
  if (cek.length !== CEK_BYTES) throw new Error(`cek: expected ${CEK_BYTES} bytes`);
  if (contentId.length !== CONTENT_ID_BYTES)
    throw new Error(`contentId: expected ${CONTENT_ID_BYTES} bytes`);
  if (clip.length === 0) throw new Error('clip: expected at least one byte');
  const chunks = Math.ceil(clip.length / CLIP_CHUNK_BYTES);
  const head = header(contentId, clip.length, chunks);
  const out = new Uint8Array(CLIP_HEADER_BYTES + clip.length + chunks * GCM_TAG_BYTES);
  out.set(head);
  let offset = CLIP_HEADER_BYTES;
  for (let i = 0; i < chunks; i++) {
    const plain = clip.subarray(i * CLIP_CHUNK_BYTES, (i + 1) * CLIP_CHUNK_BYTES);
    const { nonce, aad } = chunkNonceAndAad(head, i, i === chunks - 1);
    const cipher = createCipheriv('aes-256-gcm', cek, nonce, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    const body = cipher.update(plain);
    const rest = cipher.final();
    out.set(body, offset);
    out.set(rest, offset + body.length);
    out.set(cipher.getAuthTag(), offset + plain.length);
    offset += plain.length + GCM_TAG_BYTES;
  }
  return { bytes: out, chunks };
}
