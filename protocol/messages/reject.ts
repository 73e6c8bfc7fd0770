// 'reject', a node's answer on every protocol (docs/protocol.md §8, §9): a
// rejection code from rejection.ts, never message text, and for
// UNSUPPORTED_VERSION the versions the node speaks.
import { malformed } from '../codec/read.ts';
import { isRejectionCode, type RejectionCode } from '../rejection.ts';
import type { MessageCodec } from './codec.ts';
import { readVersions } from './fields.ts';

export interface RejectMessage {
  readonly type: 'reject';
  readonly code: RejectionCode;
  readonly versions?: readonly number[];
}

export const rejectCodec: MessageCodec<RejectMessage> = {
  type: 'reject',
  required: ['code'],
  optional: ['versions'],
  encode: (message) =>
    message.versions === undefined
      ? { code: message.code }
      : { code: message.code, versions: [...message.versions] },
  decode: (m) => {
    const code = m['code'];
    if (!isRejectionCode(code)) throw malformed('code', 'a known rejection code');
    return m['versions'] === undefined
      ? { type: 'reject', code }
      : { type: 'reject', code, versions: readVersions(m['versions'], 'versions') };
  },
};
