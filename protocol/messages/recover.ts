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
  optional: [],
  encode: (message) => sealedToCbor(message.sealed),
  decode: (m) => ({ type: 'share', sealed: readSealed(m) }),
};
