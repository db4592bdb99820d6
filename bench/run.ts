/**
 * `npm run bench [-- core|fleet|peer|schedules|flow|restart|output|retention|<scenario>]`: Baton's figures against their targets
 * (issues 2, 3, 16, 17, 18, 19 and 20). All parts (no argument) also writes docs/benchmarks.md; a part or a scenario only
 * prints. Not part of `npm test`: timings on a shared 2-core machine vary, so the load
 * average is written with the figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUp } from '../test/support/cluster.js';
import { core, CORE_SCENARIOS } from './core.js';
import { fleet, FLEET_SCENARIOS } from './fleet.js';
import { flow } from './flow.js';
import { output } from './output.js';
import { peer } from './peer.js';
import { restart } from './restart.js';
import { retention } from './retention.js';
import { schedules } from './schedules.js';
import { fmt, printSection, table, type Section } from './report.js';
import { PROFILE_HEADING } from './profile/doc.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const USAGE = `usage: npm run bench [-- core|fleet|peer|schedules|flow|restart|output|retention|${[...CORE_SCENARIOS, ...Object.keys(FLEET_SCENARIOS)].join('|')}]`;

/** Every row with a target of its own, gathered from the parts that ran: what is met and what is not, in one table. */
function targetSection(sections: Section[]): Section {
  const rows = sections.flatMap((s) => s.rows.filter((r) => r.met !== undefined));
  const met = rows.filter((r) => r.met).length;
  return {
    title: 'Targets',
    method: `${met} of ${rows.length} met in this run. Each row is repeated from its part below, where its same-run baseline is.`,
    rows,
  };
}

/**
 * The "## Profile" section and what follows it in the current docs/benchmarks.md: written by
 * bench/profile.ts (a profile slows what it measures, so it is not made in this run) and kept.
 */
function profileSection(file: string): string {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(`\n${PROFILE_HEADING}`);
  return at < 0 ? '' : old.slice(at);
}

async function main(): Promise<void> {
  const part = process.argv[2];
  const load0 = os.loadavg();
  const sections: Section[] = [];
  const isCore = (p: string): p is (typeof CORE_SCENARIOS)[number] => (CORE_SCENARIOS as readonly string[]).includes(p);
  const isFleet = (p: string): p is keyof typeof FLEET_SCENARIOS => p in FLEET_SCENARIOS;
  if (part === undefined || part === 'core') sections.push(await core());
  else if (isCore(part)) sections.push(await core(part));
  if (part === undefined || part === 'fleet') sections.push(await fleet());
  else if (isFleet(part)) sections.push(await fleet(part));
  if (part === undefined || part === 'peer') sections.push(await peer());
  if (part === undefined || part === 'schedules') sections.push(await schedules());
  if (part === undefined || part === 'flow') sections.push(await flow());
  if (part === undefined || part === 'restart') sections.push(await restart());
  if (part === undefined || part === 'output') sections.push(await output());
  if (part === undefined || part === 'retention') sections.push(await retention());
  if (sections.length === 0) {
    console.error(`unknown bench part "${part}"; ${USAGE}`);
    process.exit(2);
  }
  const load1 = os.loadavg();
  const targets = targetSection(sections);
  for (const s of [...sections, targets]) printSection(s);
  const load = `load average ${load0.map((l) => fmt(l, 2)).join(' ')} at the start, ${load1.map((l) => fmt(l, 2)).join(' ')} at the end`;
  console.log(`\n${load}`);
  if (part !== undefined) return;
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const doc = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC, Baton ${version},
Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(os.totalmem() / 1024 ** 3)} GiB;
${load} (the machine is shared: other work ran alongside).
Every figure below comes from this one run. \`npm run bench -- core\`, \`-- fleet\`, \`-- peer\`, \`-- schedules\`, \`-- flow\`, \`-- restart\`, \`-- retention\` or
\`-- <scenario>\` (${[...CORE_SCENARIOS, ...Object.keys(FLEET_SCENARIOS)].join(', ')}) runs a part and only prints.

${[targets, ...sections].map((s) => `## ${s.title}\n\n${s.method}\n\n${table(s.rows)}\n`).join('\n')}${profileSection(DOC)}`;
  writeFileSync(DOC, doc);
  console.log('written to docs/benchmarks.md');
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanUp();
  process.exit(1);
}
