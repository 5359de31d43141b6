export * from './dns-client.js';
export * from './tools.js';
//# sourceMappingURL=index.js.map