/**
 * A version counter for one part of the store. Answers built from that part remember the version they saw;
 * every write to that part bumps it, so a cached answer is valid exactly while its versions are unchanged.
 */
export interface Scope {
  gen: number;
}

export function newScope(): Scope {
  return { gen: 0 };
}
