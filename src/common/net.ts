/** Splits "host:port" / "[::1]:port" into its parts. Pure. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`not a host:port address: "${address}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port out of range in "${address}"`);
  return { host: m[1]!, port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `host:port[,host:port…]` as a list; an empty entry is refused. */
export function schedulerAddresses(list: string): string[] {
  const addresses = list.split(',').map((a) => a.trim());
  if (addresses.some((a) => a === '')) throw new Error(`scheduler addresses "${list}": an entry is empty (give host:port, or several separated by commas)`);
  return addresses;
}
