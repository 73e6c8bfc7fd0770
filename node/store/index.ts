// Public entry of the node's storage: one LevelDB per node (DESIGN.md, Storage).
export { NodeStore, type NodeStoreOptions } from './db.ts';
export { KeyPrefix, MetaName, STORE_LENGTHS, type RecordKind } from './keys.ts';
export { STORAGE_KEY_BYTES } from './record-cipher.ts';
export {
  MAX_STORED_MANIFEST_BYTES,
  type NonceEntry,
  type PendingContent,
  type RunState,
  type StoredContent,
  type StoredLineage,
} from './records.ts';
