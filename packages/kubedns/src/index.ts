export * from './model.js';
export {
  RecordStore,
  type RecordStoreCounts,
  type RecordStoreOptions,
  type ServiceSlot,
} from './store/record-store.js';
export type { Scope } from './store/scope.js';
export { dashedIp, podLabelToIp } from './store/dashed-ip.js';
export * from './resolver/answer.js';
export {
  DNS_SCHEMA_VERSION,
  DNS_VERSION_TTL,
  isAuthoritativeName,
  isZoneName,
  MAX_CNAME_CHAIN,
  resolve,
  type Question,
} from './resolver/resolve.js';
export { parseReverseName, reverseNameOf, reverseZoneOf, type ReverseName } from './resolver/reverse-name.js';
export { storeAddressLookup } from './resolver/local-addresses.js';
