// Advisory-lock keys. PostgreSQL has two key spaces that never overlap: one bigint, or two ints.
// withBlobLock takes session locks in the bigint space; the store's own short locks (migrations,
// reference counting inside a transaction) use the two-int space with a namespace each, so they
// can never collide with (and deadlock against) a blob lock a caller is holding.
import { createHash } from 'node:crypto';

/** First int of the two-int keys: which of our lock families a key belongs to. */
export const LOCK_NAMESPACE = {
  migrations: 0x65787401,
  blobReferences: 0x65787402,
  /** One key (0): changes that could remove the last enabled platform admin take it in turn. */
  users: 0x65787403,
} as const;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** bigint key (as a decimal string, which pg sends losslessly) for withBlobLock on `sha256`. */
export function blobLockKey(sha256: string): string {
  return digest(sha256).readBigInt64BE(0).toString();
}

/** Second int of a two-int key for `text`; collisions only make unrelated callers wait. */
export function intKey(text: string): number {
  return digest(text).readInt32BE(0);
}
