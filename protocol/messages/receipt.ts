// The publish receipt: a node's signed statement that it holds (durably) the
// share of a content under a given manifest. Signed by the node's libp2p
// Ed25519 key — the key its PeerId in the node set names — over
//   tag(PUBLISH_RECEIPT) || canonical CBOR of the receipt body.
import { concatBytes } from '../bytes.ts';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import {
  readBytes,
  readLiteral,
  readMap,
  readTimestamp,
  readUint,
  readVersion,
} from '../codec/read.ts';
import { ID_BYTES, MAX_NODES } from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ED25519_LENGTHS, type CryptoSuite, type SigningKey } from '../suite/types.ts';

export interface ReceiptBody {
  readonly version: number;
  readonly nodeSetId: Uint8Array;
  readonly node: number;
  readonly contentId: Uint8Array;
  readonly manifestHash: Uint8Array;
  /** 'stored': newly stored; 'unchanged': the same manifest and share were already held. */
  readonly status: 'stored' | 'unchanged';
  /** The node's clock, ms since the epoch. */
  readonly at: number;
}

export interface PublishReceipt {
  readonly body: ReceiptBody;
  readonly signature: Uint8Array;
}

function bodyToCbor(body: ReceiptBody): CborValue {
  return {
    v: body.version,
    nodeSet: body.nodeSetId,
    node: body.node,
    content: body.contentId,
    manifest: body.manifestHash,
    status: body.status,
    at: body.at,
  };
}

export function receiptToCbor(receipt: PublishReceipt): Record<string, CborValue> {
  return { receipt: bodyToCbor(receipt.body), sig: receipt.signature };
}

export function receiptFromCbor(m: Readonly<Record<string, unknown>>): PublishReceipt {
  const b = readMap(m['receipt'], 'receipt', [
    'v',
    'nodeSet',
    'node',
    'content',
    'manifest',
    'status',
    'at',
  ]);
  const version = readVersion(b['v'], 'receipt.v');
  return {
    body: {
      version,
      nodeSetId: readBytes(b['nodeSet'], 'receipt.nodeSet', ID_BYTES),
      node: readUint(b['node'], 'receipt.node', 1, MAX_NODES),
      contentId: readBytes(b['content'], 'receipt.content', ID_BYTES),
      manifestHash: readBytes(b['manifest'], 'receipt.manifest', ID_BYTES),
      status: readLiteral(b['status'], 'receipt.status', ['stored', 'unchanged']),
      at: readTimestamp(b['at'], 'receipt.at'),
    },
    signature: readBytes(m['sig'], 'sig', ED25519_LENGTHS.signature),
  };
}

function signingBytes(body: ReceiptBody): Uint8Array {
  return concatBytes(tagBytes(DomainTag.PUBLISH_RECEIPT), encodeCanonical(bodyToCbor(body)));
}

export function signReceipt(nodeKey: SigningKey, body: ReceiptBody): PublishReceipt {
  return { body, signature: nodeKey.sign(signingBytes(body)) };
}

/** True iff the receipt is signed by the node whose Ed25519 key is `nodePublicKey`. */
export function verifyReceipt(
  suite: CryptoSuite,
  receipt: PublishReceipt,
  nodePublicKey: Uint8Array,
): boolean {
  return suite.ed25519.verify(receipt.signature, signingBytes(receipt.body), nodePublicKey);
}
