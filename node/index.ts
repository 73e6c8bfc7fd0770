// Public entry of the node layer: the daemon as a library. The command line
// (cli/) composes these; nothing here parses argv, environment or config files.
export {
  ADMISSION_DEFAULTS,
  HTTP_DEFAULTS,
  LOG_LEVEL_DEFAULT,
  NETWORK_DEFAULTS,
  POLICY_DEFAULTS,
  REVOCATION_DEFAULTS,
  STORE_DEFAULTS,
  TEST_FAULT_DEFAULTS,
  isLoopbackHost,
  resolveNodeOptions,
  type AdmissionOptions,
  type HttpAddress,
  type HttpOptions,
  type NetworkOptions,
  type NodeOptions,
  type NodeOptionsInput,
  type EvmEndpoint,
  type PolicyOptions,
  type RateLimit,
  type RevocationOptions,
  type StoreOptions,
  type TestFaultOptions,
} from './options.ts';
export { DB_DIR, DB_INTEGRITY_DIR, startDaemon, type Daemon, type DaemonDeps } from './daemon.ts';
export { NodeRetiredError } from './lineage.ts';
export {
  KEYSTORE_FILE,
  initKeystore,
  loadKeystore,
  readKeystorePublicInfo,
  type InitKeystoreResult,
  type Keystore,
} from './keystore.ts';
export {
  LOG_LEVELS,
  createLogger,
  isLogLevel,
  silentLogger,
  type LogLevel,
  type Logger,
} from './log.ts';
export {
  assertNoSecretFile,
  checkSecretDir,
  prepareSecretDir,
  readSecretFile,
  writeFileAtomically,
  writeNewSecretFile,
} from './secret-file.ts';
export { readPrivateFile, writeNewFile, type WriteNewFileOptions } from './secret-file.ts';
export { decodeAuditRecord, type AuditRecord } from './audit/record.ts';
export { verifyChain } from './audit/verify.ts';
export { NodeStore } from './store/index.ts';
export { packageRoot } from './package-root.ts';
export {
  WEBRTC_CERT_FILE,
  loadOrCreateWebRtcCertificate,
  type WebRtcCertificate,
} from './network/webrtc-cert.ts';
export { requestOnce } from './network/index.ts';
