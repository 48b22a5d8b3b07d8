// Stable, non-cryptographic hashing for sticky percentages: FNV-1a over UTF-8, then the murmur3
// fmix32 finaliser. The same (key, salt) gives the same bucket in every process, forever.

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Never occurs in UTF-8, so `salt + key` cannot be confused with another split of the same bytes. */
const SEPARATOR = 0xff;
const TWO_POW_32 = 4294967296;
/** Above this, `hash * buckets` would no longer be exact in a double. */
export const MAX_BUCKETS = 2 ** 21;

/** A 32-bit hash of `salt`, a separator byte and `key` (each as UTF-8); unsigned. */
export function stableHash32(key: string, salt: string): number {
  let h = fnvUtf8(FNV_OFFSET_BASIS, salt);
  h = Math.imul(h ^ SEPARATOR, FNV_PRIME);
  return fmix32(fnvUtf8(h, key));
}

/**
 * The bucket in `[0, buckets)` for `key` salted with `salt`. Uses the high bits of the hash
 * (multiply-shift) rather than a modulo, so every bucket is equally likely to within 2^-11.
 */
export function stableBucket(key: string, salt: string, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new RangeError(`buckets must be an integer from 1 to ${MAX_BUCKETS}, got ${buckets}`);
  }
  return Math.floor((stableHash32(key, salt) * buckets) / TWO_POW_32);
}

/**
 * Folds the UTF-8 encoding of `s` into FNV-1a state `h` without allocating a byte buffer.
 * A lone surrogate is encoded as U+FFFD, as TextEncoder does.
 */
function fnvUtf8(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
        continue;
      }
      c = 0xfffd;
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}

/** murmur3's finaliser: FNV-1a's low bits mix poorly for short, similar keys (`user-1`, `user-2`). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
