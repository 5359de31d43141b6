export * from './dns-client.js';
export * from './tools.js';
export * from './real-dnsmasq.js';
export * from './scripted-dns-server.js';
export * from './wait.js';
export * from './log-capture.js';
export * from './fake-upstream.js';
export * from './dig.js';
