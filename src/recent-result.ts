/**
 * `read`, called at most once per `maxAgeMs`: callers within that time share the last call's promise
 * (also while it is still pending). For figures that anyone may ask for often (/status, /metrics) and
 * that cost Redis a round trip.
 */
export function recentResult<T>(maxAgeMs: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= maxAgeMs) last = { at: now, value: read() };
    return last.value;
  };
}
