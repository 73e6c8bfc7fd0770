// /qkms/info: who this node is, for which node set, and what it speaks; and
// the latest audit head of a peer it witnessed ('audit-witness', decision
// 0010), which `qkms audit verify --against-peers` asks for.
import {
  MAX_FRAME_BYTES,
  SUPPORTED_VERSIONS,
  decodeMessage,
  encodeMessage,
} from '../../protocol/internal.ts';
import type { NodeHealth, SignedAuditHead } from '../../protocol/internal.ts';
import type { ServiceDeps } from './types.ts';

export const SOFTWARE = 'qkms/0.1.0';

export async function handleInfo(
  deps: Pick<ServiceDeps, 'nodeSet' | 'self'> & {
    readonly health?: () => Promise<NodeHealth>;
    /** The latest head of node `index` this node witnessed; absent: it keeps none. */
    readonly witnessedOf?: (index: number) => SignedAuditHead | undefined;
  },
  frame: Uint8Array,
): Promise<Uint8Array> {
  const message = decodeMessage(frame, MAX_FRAME_BYTES.info, ['info', 'audit-witness']);
  if (message.type === 'audit-witness') {
    // Statements signed by the node they are about: public, and checked by whoever asks.
    const witnessed = deps.witnessedOf?.(message.node);
    return encodeMessage({
      type: 'audit-witness-ok',
      ...(witnessed === undefined ? {} : { witnessed }),
    });
  }
  const health = await deps.health?.();
  return encodeMessage({
    type: 'info-ok',
    info: {
      nodeSetId: deps.nodeSet.id,
      node: deps.self.index,
      versions: [...SUPPORTED_VERSIONS],
      software: SOFTWARE,
      ...(health === undefined ? {} : { health }),
    },
  });
}
