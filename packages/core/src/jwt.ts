/**
 * Verified JWTs (jose): signed with the HS256 secret JWT_SECRET, or by a key of the JWKS at
 * JWT_JWKS_URL (fetched and cached by jose, refetched for an unknown `kid`). The issuer and
 * audience are checked when JWT_ISSUER / JWT_AUDIENCE are set; `exp` and `nbf` always. The
 * principal is the `sub` claim, which must be present.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';

export interface JwtOptions {
  secret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** Whether a string looks like a JWS compact serialisation (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

export type JwtVerifier = (token: string) => Promise<string>;

/** A verifier for the configured keys (undefined when no JWT is configured). Rejects a bad token. */
export function createJwtVerifier(options: JwtOptions): JwtVerifier | undefined {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (options.secret) {
    key = new TextEncoder().encode(options.secret);
    algorithms = ['HS256'];
  } else if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl));
  } else return undefined;
  return async (token) => {
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      ...(algorithms ? { algorithms } : {}),
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
    });
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('the JWT has no sub claim');
    return payload.sub;
  };
}
