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

/** 0.0.0.0 and :: mean "every interface" to listen on; no peer can dial them. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '0.0.0.0' || (host.includes(':') && /^[0:]+$/.test(host));
}

/**
 * Why the address a worker gives the scheduler cannot be dialled, or undefined. `advertise`
 * is the --advertise flag (undefined: the worker advertises its --listen address).
 */
export function unroutableAdvertise(listen: string, advertise: string | undefined): string | undefined {
  if (advertise !== undefined) {
    return isUnspecifiedHost(splitHostPort(advertise).host)
      ? `--advertise ${advertise} is not an address the scheduler can dial: give this worker's own address, e.g. --advertise 10.0.0.11:${splitHostPort(advertise).port}`
      : undefined;
  }
  const { host, port } = splitHostPort(listen);
  if (!isUnspecifiedHost(host)) return undefined;
  return `--listen ${listen} listens on every interface, but the scheduler cannot dial ${host}: pass --advertise with the address it reaches this worker at, e.g. --advertise 10.0.0.11:${port === 0 ? 'PORT' : port} (or BATON_WORKER_ADVERTISE)`;
}

/** `host:port[,host:port…]` as a list; an empty entry is refused. */
export function schedulerAddresses(list: string): string[] {
  const addresses = list.split(',').map((a) => a.trim());
  if (addresses.some((a) => a === '')) throw new Error(`scheduler addresses "${list}": an entry is empty (give host:port, or several separated by commas)`);
  return addresses;
}
