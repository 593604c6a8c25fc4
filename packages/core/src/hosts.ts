/**
 * DNS rebinding: a page of `rebind.attacker.example` whose name now resolves to 127.0.0.1 is, to
 * the browser, same-origin with us, so its Origin matches its Host and the Origin check passes.
 * The Host header is what gives it away, so it is checked against an allow-list (the MCP
 * Streamable HTTP transport asks servers to do the same).
 */

/** The names of this machine's loopback interface, allowed by default on a loopback bind. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Whether `host` (the interface the server listens on) is a loopback address or name. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The allow-list in force: ALLOWED_HOSTS when set; else the loopback names when the server is
 * bound to loopback; else undefined (any Host: a server on a public interface must be told its
 * names, and start-up says so).
 */
export function allowedHostsFor(
  bindHost: string,
  configured: readonly string[],
): readonly string[] | undefined {
  if (configured.length > 0) return configured;
  return isLoopbackBind(bindHost) ? LOOPBACK_HOSTS : undefined;
}

/**
 * Whether a Host header names an allowed host. An entry without a port allows every port (the
 * servers run on several); `name:port` allows that port only.
 */
export function hostAllowed(hostHeader: string, allowed: readonly string[]): boolean {
  const host = hostHeader.trim().toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return allowed.some((entry) => entry === host || entry === name);
}
