/**
 * What client-node's `config.js` imports from `gen/index.js`, from the two small files that define it (see
 * slim-hooks.ts). The same bindings: `gen/index.js` re-exports these very functions.
 */
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
