/**
 * The one client-address function of every transport: the TCP peer, or, when that peer is a
 * proxy we were told to trust (TRUST_PROXY), the address it forwarded in X-Forwarded-For. It is
 * `proxy-addr`, the parser Fastify's and Express's `trustProxy` use, so the rule is theirs: walk
 * X-Forwarded-For from the right while the hop is trusted; the first untrusted hop is the client.
 * Without TRUST_PROXY the header is ignored: any client could write it.
 */
import proxyAddr from 'proxy-addr';

export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY as proxy-addr reads it: a hop count (`1`), `true` (every hop: only behind a proxy
 * that overwrites the header), or addresses, CIDRs and the names `loopback`, `linklocal`,
 * `uniquelocal`, comma-separated. Undefined: trust nobody.
 */
export function compileTrust(trustProxy: string | undefined): TrustFunction {
  if (!trustProxy || trustProxy === 'false') return () => false;
  if (trustProxy === 'true') return () => true;
  if (/^\d+$/.test(trustProxy)) {
    const hops = Number(trustProxy);
    return (_address, hop) => hop < hops;
  }
  return proxyAddr.compile(trustProxy.split(',').map((entry) => entry.trim()));
}

/** Who the client is: `peer`, or what a trusted proxy says in X-Forwarded-For. */
export function clientAddress(
  peer: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  trust: TrustFunction,
): string {
  if (!peer) return 'unknown';
  const forwarded = headers['x-forwarded-for'];
  if (forwarded === undefined) return peer;
  const header = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
  // proxy-addr reads a Node request; this is the part of one it looks at.
  const request = { headers: { 'x-forwarded-for': header }, connection: { remoteAddress: peer } };
  return proxyAddr(request as never, trust);
}
