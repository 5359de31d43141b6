export * from './dns-client.js';
export * from './tools.js';
