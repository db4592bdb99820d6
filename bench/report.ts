/** One line of the benchmark table: what was measured, the figure, the target and whether it is met. */
export interface Row {
  measure: string;
  figure: string;
  target: string;
  /** undefined: the row has no target of its own (a baseline, a ratio shown elsewhere). */
  met?: boolean;
}

export interface Section {
  title: string;
  /** How the figures were made: sizes, concurrency, the env variables that tune them. */
  method: string;
  rows: Row[];
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function table(rows: Row[]): string {
  const mark = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'met' : '**not met**');
  return ['| measure | figure | target | |', '|---|---|---|---|', ...rows.map((r) => `| ${r.measure} | ${r.figure} | ${r.target} | ${mark(r.met)} |`)].join('\n');
}

export function printSection(s: Section): void {
  console.log(`\n${s.title}`);
  for (const r of s.rows) console.log(`  ${r.measure.replace(/`/g, '').padEnd(58)} ${r.figure.padEnd(34)} target ${r.target}${r.met === false ? '  NOT MET' : ''}`);
}
