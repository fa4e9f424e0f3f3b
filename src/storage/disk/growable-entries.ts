/**
 * Typed-array storage for index entries that grows by doubling up to a hard cap, so an index costs
 * memory in proportion to its entries, never more than the cap.
 */
export const INITIAL_INDEX_CAPACITY = 64;

export function grownCapacity(current: number, needed: number, cap: number): number {
  if (needed > cap) throw new Error(`Index full: ${needed} entries exceed the cap of ${cap}`);
  let next = Math.max(current, INITIAL_INDEX_CAPACITY);
  while (next < needed) next *= 2;
  return Math.min(next, cap);
}
