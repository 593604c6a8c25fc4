import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * The security headers of every page the project serves (the five servers and the lab): a CSP
 * that runs only the server's own script files — no inline script, no eval, nothing from another
 * origin — frames nowhere (frame-ancestors 'none', X-Frame-Options DENY), nosniff, no Referer to
 * other sites. `connectSrc` adds the origins a page may reach besides its own (the lab's lanes).
 */
export function securityHeaders(connectSrc: readonly string[] = []): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...connectSrc],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  };
}
