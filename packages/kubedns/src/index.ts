export * from './model.js';
export {
  RecordStore,
  type RecordStoreCounts,
  type RecordStoreOptions,
  type ServiceSlot,
  type StoredSubset,
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
export { encodeAnswer, type EncodedAnswer } from './wire/answer-encoder.js';
export { AnswerCache } from './wire/answer-cache.js';
export { assembleFromQuestion, assembleResponse, isPlainQuestion } from './wire/response-assembly.js';
export { encodeResponseReference, spellLikeQuestion, type ReferenceExtras } from './wire/reference-encoder.js';
export {
  buildQuery,
  Forwarder,
  type ForwarderObserver,
  type ForwarderOptions,
  type RouteKind,
  type ServerRoute,
  type UpstreamErrorReason,
} from './forward/forwarder.js';
export type { StubRoute } from './forward/stub-table.js';
export {
  createKubeDnsAnswerer,
  createKubeDnsHandler,
  type DnsForwarder,
  type KubeDnsAnswerer,
  type KubeDnsHandlerDeps,
} from './dns-handler.js';
export {
  createDnsMetrics,
  DURATION_BUCKETS,
  SIZE_BUCKETS,
  type DnsMetrics,
  type DnsSystem,
  type ErrorCause,
} from './dns-metrics.js';
// The process: command line, main, readiness, the watch's metrics (the watch itself is internal:
// `@kube-dns/kubedns/watch/...` for tests).
export {
  describeConfig,
  expandEnv,
  packageVersion,
  parseCommandLine,
  parseGoDuration,
  type EndpointsApi,
  type KubeDnsConfig,
  type MetricsConfig,
} from './cli.js';
export { forwardingSettings, startConfigSource, type ConfigSource, type ForwardingSettings } from './config.js';
export {
  defaultAnswers,
  main,
  type Answers,
  type AnswersFactory,
  type AnswersOptions,
  type KubeDnsHandle,
  type MainDeps,
} from './main.js';
export { createReadiness, type Readiness, type ReadinessState } from './readiness.js';
export { createWatchMetrics, metricPrefix, type WatchMetrics } from './watch-metrics.js';
