export { API_VERSION } from './openapi.ts';
export { createHttpApp, errorResponse, type HttpApp, type HttpAppOptions, sendError } from './plugin.ts';
export * from './schemas.ts';
export { securityHeaders } from './security-headers.ts';
export { httpChatServer } from './server.ts';
export { type UiOptions, uiRoutes } from './ui.ts';
