export * from './constants.js';
export * from './names.js';
export * from './query-view.js';
export * from './raw-question.js';
export * from './response.js';
export * from './rr-walk.js';
export * from './truncate.js';
