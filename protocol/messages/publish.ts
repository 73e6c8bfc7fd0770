// The messages of /qkms/publish (docs/protocol.md §8): a publisher's
// 'publish' (the signed manifest and this node's share, sealed to the node's
// KEM key), and a node's 'receipt' (its signed statement that it holds the
// share, receipt.ts) or 'reject'.
import { manifestFromCbor, manifestToCbor, type Manifest } from '../manifest.ts';
import type { Sealed } from '../seal.ts';
import type { MessageCodec } from './codec.ts';
import { readSealed, sealedToCbor } from './fields.ts';
import { receiptFromCbor, receiptToCbor, type PublishReceipt } from './receipt.ts';

export interface PublishMessage {
  readonly type: 'publish';
  readonly manifest: Manifest;
  readonly sealed: Sealed;
}

export interface ReceiptMessage {
  readonly type: 'receipt';
  readonly receipt: PublishReceipt;
}

export const publishCodec: MessageCodec<PublishMessage> = {
  type: 'publish',
  required: ['manifest', 'enc', 'ct'],
  optional: [],
  encode: (message) => ({
    manifest: manifestToCbor(message.manifest),
    ...sealedToCbor(message.sealed),
  }),
  decode: (m) => ({
    type: 'publish',
    manifest: manifestFromCbor(m['manifest']),
    sealed: readSealed(m),
  }),
};

export const receiptCodec: MessageCodec<ReceiptMessage> = {
  type: 'receipt',
  required: ['receipt', 'sig'],
  optional: [],
  encode: (message) => receiptToCbor(message.receipt),
  decode: (m) => ({ type: 'receipt', receipt: receiptFromCbor(m) }),
};
