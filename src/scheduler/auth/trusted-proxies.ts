import { isIP } from 'node:net';

/**
 * `--trusted-proxy`: the proxies whose `X-Forwarded-For` is believed. Only a request whose peer
 * is one of them has its client taken from that header (the right-most address that is not
 * itself a trusted proxy); from anyone else the header is ignored, so it cannot be forged to
 * dodge the auth throttle. Fastify's `trustProxy` applies the list; this only checks it. Pure.
 */
const RULE = 'a trusted proxy is an IP address (10.0.0.1) or a CIDR range (10.0.0.0/8, fd00::/8; prefix 1-32 for IPv4, 1-128 for IPv6)';

/** One flag or environment value: addresses or ranges, comma-separated, added to `previous`. */
export function parseTrustedProxies(text: string, previous: readonly string[] = []): string[] {
  const out = [...previous];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) throw new Error(`not a trusted proxy: "${entry}" (${RULE})`);
    out.push(entry);
  }
  return out;
}

/** The option's value from any source: the flag's list, or a string or an array of strings from baton.toml. */
export function trustedProxyList(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return parseTrustedProxies(value);
  if (Array.isArray(value)) {
    return value.reduce<string[]>((list, item) => {
      if (typeof item !== 'string') throw new Error(`trusted-proxy: ${JSON.stringify(item)} is not a string (${RULE})`);
      return parseTrustedProxies(item, list);
    }, []);
  }
  throw new Error(`trusted-proxy must be a string or a list of strings (${RULE})`);
}
