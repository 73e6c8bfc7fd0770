// The messages of /qkms/recover (docs/protocol.md §8): a client's 'recover'
// (its signed single-use request and the wallet delegation it rests on), and a
// node's 'share' (its share, sealed to the request's recipient key) or 'reject'.
import { readBytes } from '../codec/read.ts';
import type { Delegation } from '../grant/delegation.ts';
import {
  requestBodyFromCbor,
  requestBodyToCbor,
  type SignedRecoverRequest,
} from '../grant/request.ts';
import { delegationFromCbor, delegationToCbor } from '../manifest.ts';
import type { Sealed } from '../seal.ts';
import {
  sharingRecordFromCbor,
  sharingRecordToCbor,
  type SharingRecord,
} from '../sharing-record.ts';
import { ED25519_LENGTHS } from '../suite/types.ts';
import type { MessageCodec } from './codec.ts';
import { readSealed, sealedToCbor } from './fields.ts';

export interface RecoverMessage {
  readonly type: 'recover';
  readonly request: SignedRecoverRequest;
  readonly delegation: Delegation;
}

export interface ShareMessage {
  readonly type: 'share';
  readonly sealed: Sealed;
  /**
   * For content redistributed to the node's set (decision 0017): the sharing
   * record the share belongs to. Absent: the share is of the publisher's
   * sharing, checked against the manifest's commitments.
   */
  readonly sharing?: SharingRecord;
}

export const recoverCodec: MessageCodec<RecoverMessage> = {
  type: 'recover',
  required: ['request', 'sig', 'delegation'],
  optional: [],
  encode: (message) => ({
    request: requestBodyToCbor(message.request.body),
    sig: message.request.signature,
    delegation: delegationToCbor(message.delegation),
  }),
  decode: (m) => ({
    type: 'recover',
    request: {
      body: requestBodyFromCbor(m['request']),
      signature: readBytes(m['sig'], 'sig', ED25519_LENGTHS.signature),
    },
    delegation: delegationFromCbor(m['delegation'], 'delegation'),
  }),
};

export const shareCodec: MessageCodec<ShareMessage> = {
  type: 'share',
  required: ['enc', 'ct'],
  optional: ['sharing'],
  encode: (message) => ({
    ...sealedToCbor(message.sealed),
    ...(message.sharing === undefined ? {} : { sharing: sharingRecordToCbor(message.sharing) }),
  }),
  decode: (m) => ({
    type: 'share',
    sealed: readSealed(m),
    ...(m['sharing'] === undefined
      ? {}
      : { sharing: sharingRecordFromCbor(m['sharing'], 'sharing') }),
  }),
};
