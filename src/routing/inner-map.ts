// Caches keyed by several strings are kept as maps of maps, so a lookup builds no key string:
// this makes the inner map at a key on first use (no closure per call: callers run per request).

/** The inner map at `key` of `map`, made and stored on first use. */
export function innerMap<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let v = map.get(key);
  if (v === undefined) {
    v = new Map();
    map.set(key, v);
  }
  return v;
}
