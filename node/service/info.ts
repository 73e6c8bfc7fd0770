// /qkms/info: who this node is, for which node set, and what it speaks.
import {
  MAX_FRAME_BYTES,
  SUPPORTED_VERSIONS,
  decodeMessage,
  encodeMessage,
} from '../../protocol/index.ts';
import type { NodeHealth } from '../../protocol/index.ts';
import type { ServiceDeps } from './types.ts';

export const SOFTWARE = 'qkms/0.1.0';

export async function handleInfo(
  deps: Pick<ServiceDeps, 'nodeSet' | 'self'> & { readonly health?: () => Promise<NodeHealth> },
  frame: Uint8Array,
): Promise<Uint8Array> {
  decodeMessage(frame, MAX_FRAME_BYTES.info, ['info']);
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
