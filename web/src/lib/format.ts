/** Pure: how the dashboard shows times, durations, commands and counts. */

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago"; "–" for none. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '–';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** Between two times (the second absent: until now): "850ms", "12.3s", "4m 05s", "2h 03m". */
export function duration(fromIso: string | null | undefined, toIso: string | null | undefined, now: number): string {
  if (!fromIso) return '–';
  const ms = Math.max(0, (toIso ? Date.parse(toIso) : now) - Date.parse(fromIso));
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** The command line as a person would type it: `bash count.sh --fast`, quoting what needs it. */
export function commandLine(job: { command: string; path?: string; args?: string[] }): string {
  const quote = (a: string): string => (a === '' || /[^\w@%+=:,./-]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a);
  return [job.command, ...(job.path ? [job.path] : []), ...(job.args ?? [])].map(quote).join(' ');
}

/** "k=v, k2=v2" → labels; blank → {}; a malformed pair is an error naming it. */
export function parseLabelText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(/[,\s]+/).filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`label "${pair}" is not key=value`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** A shell-like split of an arguments field: spaces separate, quotes group. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let has = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in the arguments`);
  if (has || cur) out.push(cur);
  return out;
}
