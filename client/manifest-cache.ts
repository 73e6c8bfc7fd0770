// The manifests a client verified lately, so the publisher's wallet signature
// (secp256k1 recovery, ~1.5 ms in JS) is checked once per manifest, not once
// per recover. Verdicts, not objects: keyed by the node set and the hash of
// the manifest's canonical bytes, so a manifest object changed after it
// verified is verified again. One cache per QuorumClient, never per process:
// what one client verified, under its suite and its pinned node set, never
// vouches for another.
import {
  BoundedMap,
  manifestHash,
  toHex,
  verifyManifest,
  type CryptoSuite,
  type Manifest,
  type NodeSet,
} from '../protocol/internal.ts';

/** Verdicts one client keeps: a player's working set of titles, ~100 bytes each. */
export const VERIFIED_MANIFEST_ENTRIES = 1024;

export type VerifiedManifests = BoundedMap<string, true>;

/** An empty cache of manifest verdicts, for one client. */
export function newVerifiedManifests(): VerifiedManifests {
  return new BoundedMap<string, true>(VERIFIED_MANIFEST_ENTRIES);
}

/**
 * verifyManifest at the manifest's issuedAt, remembering the verdict in
 * `cache`: a manifest verified before (same bytes, same node set) is not
 * verified again. Throws what verifyManifest throws, and remembers nothing then.
 */
export function verifyManifestOnce(
  cache: VerifiedManifests,
  suite: CryptoSuite,
  manifest: Manifest,
  nodeSet: NodeSet,
): void {
  const key = `${toHex(nodeSet.id)}:${toHex(manifestHash(suite, manifest))}`;
  if (cache.get(key) === true) return;
  verifyManifest(suite, manifest, nodeSet, manifest.body.issuedAt);
  cache.set(key, true);
}
