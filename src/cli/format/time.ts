/** Pure time formatting for the CLI's tables. */

/** 0 → "0s", 1500 → "1.5s", 65_000 → "1m05s", 3_720_000 → "1h02m", 90_000_000 → "1d01h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 10_000) {
    const s = Math.floor(ms / 100) / 10;
    return `${s % 1 === 0 ? s.toFixed(0) : s.toFixed(1)}s`;
  }
  const totalS = Math.floor(ms / 1000);
  if (totalS < 60) return `${totalS}s`;
  const totalM = Math.floor(totalS / 60);
  if (totalM < 60) return `${totalM}m${String(totalS % 60).padStart(2, '0')}s`;
  const totalH = Math.floor(totalM / 60);
  if (totalH < 24) return `${totalH}h${String(totalM % 60).padStart(2, '0')}m`;
  return `${Math.floor(totalH / 24)}d${String(totalH % 24).padStart(2, '0')}h`;
}

/** How long ago an ISO time was, in the largest whole unit: "just now", "3s ago", "5m ago", "2h ago", "4d ago". */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  const s = Math.floor((now - then) / 1000);
  // A few seconds in the future is clock skew between this machine and the scheduler.
  if (s < 1) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** Time between two ISO times (or from `start` to `now` when `end` is null). */
export function elapsed(start: string | null | undefined, end: string | null | undefined, now: number): string {
  if (!start) return '-';
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  if (Number.isNaN(from) || Number.isNaN(to)) return '-';
  return formatDuration(Math.max(0, to - from));
}
