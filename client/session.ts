// A client session (DESIGN.md, "Identities and keys" and "Grants"): an
// Ed25519 signing key and an X-Wing KEM key pair made here, held in memory
// only, and a wallet-signed SIWE + ReCap delegation to the signing key
// (protocol/grant/delegation.ts). Only the public halves ever leave: the
// Ed25519 key inside the delegation and each request, the X-Wing key as the
// recipient a node seals a share to.
//
// Each secret is imported once into the suite (suite.ed25519.signer,
// suite.xwing.decapsulator) and the seed it came from is wiped at once, so the
// imported key is the only copy this code holds; destroy() drops it. JS cannot
// promise that no copy survives elsewhere (the native backend keeps a
// KeyObject, the noble one a copy in a closure, until they are collected).
//
// The delegation is renewed — the wallet asked to sign again, for the same
// session key — on the first use after less than max(10 % of its lifetime,
// 60 s) remains, and on demand when a node answers DELEGATION_EXPIRED or
// DELEGATION_NOT_YET_VALID. Concurrent uses share one renewal.
import * as Address from 'ox/Address';
import * as Hex from 'ox/Hex';
import {
  ErrorCode,
  QkmsError,
  capabilitiesCover,
  createDelegation,
  createManifest,
  defaultSuite,
  delegationHash,
  open,
  signRecoverRequest,
  wipe,
  type Ability,
  type AccessPolicy,
  type Capabilities,
  type CryptoSuite,
  type Decapsulator,
  type Delegation,
  type Manifest,
  type NodeSet,
  type SealContext,
  type Sealed,
  type SignedRecoverRequest,
  type SigningKey,
} from '../protocol/internal.ts';
import type { WalletSigner } from './wallet.ts';
import { assertFunction, assertMethod, intInRange, optionBag } from './validate.ts';

/** Renew once less than this share of the delegation's lifetime remains… */
export const RENEW_REMAINING_FRACTION = 0.1;
/** …or less than this, whichever is more: a request in flight must not outlive its delegation. */
export const RENEW_REMAINING_FLOOR_MS = 60_000;
/** Shortest session lifetime: twice the floor, so a delegation serves at least half its life before renewal. */
export const MIN_SESSION_LIFETIME_MS = 2 * RENEW_REMAINING_FLOOR_MS;

export interface SessionOptions {
  readonly wallet: WalletSigner;
  /** The pinned node set: its id, SIWE domain and chain go into the delegation. */
  readonly nodeSet: NodeSet;
  /** What the wallet lets this session do (recover and/or publish, on all or listed content). */
  readonly capabilities: Capabilities;
  /** Lifetime of each delegation, ms: MIN_SESSION_LIFETIME_MS up to the node set's maxDelegationLifetimeMs. */
  readonly lifetimeMs: number;
  readonly suite?: CryptoSuite;
  /** Milliseconds since the epoch; Date.now by default (tests inject one). */
  readonly clock?: () => number;
}

const OPTION_KEYS = ['wallet', 'nodeSet', 'capabilities', 'lifetimeMs', 'suite', 'clock'] as const;
const REQUIRED_KEYS = ['wallet', 'nodeSet', 'capabilities', 'lifetimeMs'] as const;

/** One wallet delegation to this session's key, as the session currently holds it. */
export interface Grant {
  readonly delegation: Delegation;
  /** delegationHash of `delegation`: what requests and manifests name. */
  readonly hash: Uint8Array;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What signManifest needs beyond what the session supplies itself (node set, publisher, delegation). */
export interface ManifestInput {
  readonly contentId: Uint8Array;
  /** The sharing's commitments and the key scalar it shares (dealKey). */
  readonly commitments: readonly Uint8Array[];
  readonly keyScalar: Uint8Array;
  readonly cek: Uint8Array;
  readonly policy: AccessPolicy;
  readonly issuedAt: number;
}

function destroyedError(): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, 'session: destroyed');
}

function copyCapabilities(c: Capabilities): Capabilities {
  return Object.freeze({
    actions: Object.freeze([...c.actions]),
    content: c.content === 'all' ? 'all' : Object.freeze(c.content.map((id) => id.slice())),
  });
}

export class Session {
  /** The wallet's EIP-55 checksummed address. */
  readonly address: string;
  /** The wallet's 20-byte address (what manifests name as publisher). */
  readonly addressBytes: Uint8Array;
  readonly nodeSet: NodeSet;
  readonly capabilities: Capabilities;
  readonly lifetimeMs: number;
  readonly suite: CryptoSuite;
  /** The session's Ed25519 public key (named in the delegation and every request). */
  readonly sessionPublicKey: Uint8Array;
  /** The session's X-Wing public key: nodes seal shares to it. */
  readonly recipientPublicKey: Uint8Array;

  readonly #wallet: WalletSigner;
  readonly #clock: () => number;
  #signer: SigningKey | undefined;
  #decapsulator: Decapsulator | undefined;
  #grant: Grant | undefined;
  #renewing: Promise<Grant> | undefined;

  private constructor(
    options: Required<Omit<SessionOptions, 'capabilities'>> & { capabilities: Capabilities },
    keys: { signer: SigningKey; decapsulator: Decapsulator },
  ) {
    this.#wallet = options.wallet;
    this.#clock = options.clock;
    this.address = Address.checksum(options.wallet.address);
    this.addressBytes = Hex.toBytes(this.address as Hex.Hex);
    this.nodeSet = options.nodeSet;
    this.capabilities = options.capabilities;
    this.lifetimeMs = options.lifetimeMs;
    this.suite = options.suite;
    this.#signer = keys.signer;
    this.#decapsulator = keys.decapsulator;
    this.sessionPublicKey = keys.signer.publicKey.slice();
    this.recipientPublicKey = keys.decapsulator.publicKey.slice();
  }

  /**
   * Makes the session keys and has the wallet sign the first delegation.
   * Throws INVALID_ARGUMENT for bad options (unknown key, lifetime out of
   * range, capabilities, a wallet whose signature does not verify).
   */
  static async create(options: SessionOptions): Promise<Session> {
    const bag = optionBag(options, 'Session.create', OPTION_KEYS, REQUIRED_KEYS);
    const nodeSet = options.nodeSet;
    const wallet = options.wallet;
    if (
      typeof wallet !== 'object' ||
      typeof wallet.address !== 'string' ||
      !Address.validate(wallet.address, { strict: true })
    )
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        'Session.create: wallet: expected { address, signMessage } with a valid address',
      );
    assertMethod(wallet, 'signMessage', 'Session.create: wallet');
    if (
      typeof nodeSet !== 'object' ||
      !(nodeSet.id instanceof Uint8Array) ||
      !Array.isArray(nodeSet.nodes)
    )
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        'Session.create: nodeSet: expected a parsed NodeSet',
      );
    const lifetimeMs = intInRange(
      bag['lifetimeMs'],
      'Session.create: lifetimeMs',
      MIN_SESSION_LIFETIME_MS,
      Number.MAX_SAFE_INTEGER,
    );
    if (lifetimeMs > nodeSet.params.maxDelegationLifetimeMs)
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `Session.create: lifetimeMs: the node set accepts delegations of at most ${nodeSet.params.maxDelegationLifetimeMs} ms`,
      );
    const suite = options.suite ?? defaultSuite();
    if (options.clock !== undefined) assertFunction(options.clock, 'Session.create: clock');
    const clock = options.clock ?? Date.now;
    const capabilities = copyCapabilities(options.capabilities);

    const signingSeed = suite.randomBytes(suite.ed25519.lengths.seed);
    const kemSeed = suite.randomBytes(suite.xwing.lengths.seed);
    let keys: { signer: SigningKey; decapsulator: Decapsulator };
    try {
      keys = {
        signer: suite.ed25519.signer(signingSeed),
        decapsulator: suite.xwing.decapsulator(kemSeed),
      };
    } finally {
      wipe(signingSeed, kemSeed);
    }
    const session = new Session({ wallet, nodeSet, capabilities, lifetimeMs, suite, clock }, keys);
    try {
      await session.renew();
    } catch (e) {
      session.destroy();
      throw e;
    }
    return session;
  }

  get destroyed(): boolean {
    return this.#signer === undefined;
  }

  /** When the current delegation expires (ms since the epoch). */
  get expiresAt(): number {
    return this.#current().expiresAt;
  }

  /** Whether the capabilities this session asked for cover `action` on `contentId`. */
  covers(action: Ability, contentId: Uint8Array): boolean {
    return capabilitiesCover(this.capabilities, action, contentId);
  }

  /** The delegation to use now: renewed first if less than the renewal margin remains. */
  async grant(): Promise<Grant> {
    const current = this.#current();
    const margin = Math.max(RENEW_REMAINING_FRACTION * this.lifetimeMs, RENEW_REMAINING_FLOOR_MS);
    if (current.expiresAt - this.#clock() >= margin) return current;
    return this.renew(current);
  }

  /**
   * Asks the wallet for a new delegation. With `stale`, only if the session
   * still holds that one: several requests refused for the same expired
   * delegation cause one renewal, not one each.
   */
  renew(stale?: Grant): Promise<Grant> {
    if (this.destroyed) return Promise.reject(destroyedError());
    if (stale !== undefined && this.#grant !== stale && this.#grant !== undefined)
      return Promise.resolve(this.#grant);
    this.#renewing ??= this.#sign().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #sign(): Promise<Grant> {
    const issuedAt = this.#clock();
    const expiresAt = issuedAt + this.lifetimeMs;
    const delegation = await createDelegation({
      wallet: this.#wallet,
      domain: this.nodeSet.params.siweDomain,
      nodeSetId: this.nodeSet.id,
      chainId: this.nodeSet.params.chainId,
      sessionPublicKey: this.sessionPublicKey,
      capabilities: this.capabilities,
      issuedAt,
      expiresAt,
    });
    if (this.destroyed) throw destroyedError();
    const grant: Grant = Object.freeze({
      delegation,
      hash: delegationHash(this.suite, delegation),
      issuedAt,
      expiresAt,
    });
    this.#grant = grant;
    return grant;
  }

  /**
   * A fresh recover request (new random nonce) to node `node`, signed by the
   * session key. It names `nodeSetId`, the set whose nodes are asked (a
   * successor of the session's set after a cutover: nodes of a set accept
   * delegations signed for any set of its lineage); the session's own set by
   * default. The delegation stays the one the wallet signed.
   */
  signRecoverRequest(
    grant: Grant,
    input: {
      readonly node: number;
      readonly contentId: Uint8Array;
      readonly issuedAt: number;
      readonly nodeSetId?: Uint8Array;
    },
  ): SignedRecoverRequest {
    return signRecoverRequest(this.suite, this.#signingKey(), {
      nodeSetId: input.nodeSetId ?? this.nodeSet.id,
      node: input.node,
      contentId: input.contentId,
      issuedAt: input.issuedAt,
      recipientKey: this.recipientPublicKey,
      delegationHash: grant.hash,
    });
  }

  /** Opens a share a node sealed to this session's X-Wing key; DECRYPT_FAILED if it does not open. */
  openShare(context: SealContext, sealed: Sealed): Promise<Uint8Array> {
    const decapsulator = this.#decapsulator;
    if (decapsulator === undefined) return Promise.reject(destroyedError());
    return open(this.suite, decapsulator, context, sealed);
  }

  /** A manifest for the pinned node set, published by this wallet, signed by the session key. */
  signManifest(grant: Grant, input: ManifestInput): Manifest {
    return createManifest(this.suite, this.#signingKey(), {
      contentId: input.contentId,
      nodeSetId: this.nodeSet.id,
      threshold: this.nodeSet.threshold,
      shares: this.nodeSet.nodes.length,
      commitments: input.commitments,
      keyScalar: input.keyScalar,
      cek: input.cek,
      publisher: this.addressBytes,
      policy: input.policy,
      issuedAt: input.issuedAt,
      delegation: grant.delegation,
    });
  }

  /** Drops the session's secret keys; every later use throws. Idempotent. */
  destroy(): void {
    this.#signer = undefined;
    this.#decapsulator = undefined;
    this.#grant = undefined;
  }

  #current(): Grant {
    if (this.destroyed || this.#grant === undefined) throw destroyedError();
    return this.#grant;
  }

  #signingKey(): SigningKey {
    const signer = this.#signer;
    if (signer === undefined) throw destroyedError();
    return signer;
  }
}
