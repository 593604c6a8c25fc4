export { createHttpApp, errorResponse, sendError, type HttpApp, type HttpAppOptions } from './plugin.ts';
export { httpChatServer } from './server.ts';
export * from './schemas.ts';
