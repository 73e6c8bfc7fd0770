// Counts the byte work code does while a synchronous function runs, without
// a clock: bytes copied by Uint8Array.prototype.set and slice, and bytes
// allocated as new Uint8Arrays (new Uint8Array(n), or a copy of an array or a
// view). Meant to bound reassembly work in a test — "linear in the bytes
// received" as bytes, not milliseconds. Uint8Array is swapped on globalThis
// for a counting Proxy while `body` runs, so it sees the allocations of any
// module that names Uint8Array at call time; Buffer and other subclasses
// created at load time are not counted. Synchronous only: nothing else must
// run meanwhile.

export interface ByteWork<T> {
  readonly result: T;
  /** Bytes copied: set() sources, slice() results, views and arrays copied by the constructor. */
  readonly copied: number;
  /** Bytes of new Uint8Arrays (new, slice, copies). */
  readonly allocated: number;
}

export function countByteWork<T>(body: () => T): ByteWork<T> {
  const Original = globalThis.Uint8Array;
  const proto = Original.prototype;
  // Called back with .call(this, …): taken off the prototype on purpose.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const set = proto.set;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const slice = proto.slice;
  let copied = 0;
  let allocated = 0;
  const Counting = new Proxy(Original, {
    construct(target, args: unknown[], newTarget) {
      const made = Reflect.construct(
        target,
        args,
        newTarget === Counting ? target : newTarget,
      ) as Uint8Array;
      allocated += made.byteLength;
      // A number or an ArrayBuffer (a view of it) copies nothing; an array or a view is copied.
      const from = args[0];
      if (typeof from === 'object' && from !== null && !(from instanceof ArrayBuffer))
        copied += made.byteLength;
      return made;
    },
  });
  Object.defineProperty(proto, 'set', {
    configurable: true,
    writable: true,
    value: function (this: Uint8Array, source: ArrayLike<number>, offset?: number): void {
      copied += source.length;
      set.call(this, source, offset);
    },
  });
  Object.defineProperty(proto, 'slice', {
    configurable: true,
    writable: true,
    value: function (this: Uint8Array, start?: number, end?: number): Uint8Array {
      const out = slice.call(this, start, end);
      copied += out.length;
      allocated += out.length;
      return out;
    },
  });
  globalThis.Uint8Array = Counting;
  try {
    const result = body();
    return { result, copied, allocated };
  } finally {
    globalThis.Uint8Array = Original;
    // The own properties shadowed %TypedArray%.prototype's: removing them restores it.
    Reflect.deleteProperty(proto, 'set');
    Reflect.deleteProperty(proto, 'slice');
  }
}
