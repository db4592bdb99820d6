import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/** Random bytes drawn a block at a time: one call into the crypto library per 512 ids rather than per id. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * A UUIDv7: time-ordered, so sorting ids sorts jobs by creation (newest first is
 * `ORDER BY id DESC`) and an id doubles as a pagination cursor. Ids made in the same
 * millisecond by this process stay ordered through a 12-bit counter.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
  } else {
    lastMs = now;
    seq = 0;
  }
  if (used + 8 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  pool[used] = (pool[used]! & 0x3f) | 0x80; // the variant, 10xx
  const random = pool.toString('hex', used, used + 8);
  used += 8;
  const ms = lastMs.toString(16).padStart(12, '0');
  const versionAndSeq = (0x7000 | seq).toString(16);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${versionAndSeq}-${random.slice(0, 4)}-${random.slice(4)}`;
}
