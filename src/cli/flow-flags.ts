/** Pure parsers of `baton run`'s flow-control flags (--after, --concurrency). */

/** `KEY[=LIMIT]` → the key and its limit (1 when not given). */
export function parseConcurrency(text: string): { key: string; limit: number } {
  const i = text.lastIndexOf('=');
  const key = i < 0 ? text : text.slice(0, i);
  const limitText = i < 0 ? '1' : text.slice(i + 1);
  if (key === '') throw new Error(`not KEY or KEY=LIMIT: "${text}"`);
  if (!/^[1-9]\d{0,5}$/.test(limitText)) throw new Error(`the limit must be a whole number from 1 to 999999: "${text}"`);
  return { key, limit: Number(limitText) };
}

/** Each --after adds one job id (repeatable); a comma-separated list adds several. */
export function collectAfter(text: string, previous: string[]): string[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((id) => id === '')) throw new Error(`not a job id or a comma-separated list of them: "${text}"`);
  return [...previous, ...ids];
}
