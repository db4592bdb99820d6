import { readFileSync } from 'node:fs';

/**
 * The start time of a process from the text of `/proc/<pid>/stat`.
 *
 * A pid is reused once its process is gone; (pid, start time) names one process for the
 * life of the machine, so a leftover recorded before a crash is never confused with a
 * stranger that got the same pid later.
 */

/** Field 22 (`starttime`, clock ticks since boot), or undefined when the text is not a stat line. */
export function processStartTime(statText: string): string | undefined {
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const close = statText.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = statText
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** The start time of a running process, or undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    return processStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}
