export * from './udp-endpoint.js';
export * from './load-addon.js';
export * from './dgram-endpoint.js';
export * from './batched-endpoint.js';
export * from './choose-udp-io.js';
