/**
 * What client-node's `cache.js` (ListWatch) uses of the ObjectSerializer: `serialize(selector, 'string')` for
 * label and field selectors, which the generated serializer returns unchanged for the primitive type
 * `string` (see slim-hooks.ts). Any other use would be a client-node change: it throws instead of guessing.
 */
export const ObjectSerializer = {
  serialize(data: unknown, type: string): unknown {
    if (type.toLowerCase() !== 'string') {
      throw new Error(`kube-dns: ObjectSerializer.serialize(…, ${JSON.stringify(type)}) is not provided`);
    }
    return data;
  },
};
