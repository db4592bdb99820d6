import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { END_OUTPUT_MAX_BYTES, readEndOutput } from './end-output.js';
import { OutputFiles } from './output-files.js';

test('readEndOutput: an output (and runs) up to the bound, whole; else, or unreadable, none', async () => {
  const output = new OutputFiles(mkdtempSync(path.join(os.tmpdir(), 'baton-end-output-')), 1024 * 1024);
  await output.init();
  const write = (jobId: string, bytes: number, runs?: number): void => {
    writeFileSync(output.pathFor(jobId), Buffer.alloc(bytes, 'x'));
    if (runs !== undefined) writeFileSync(output.runsPathFor(jobId), Buffer.alloc(runs, 1));
  };
  write('small', 6);
  write('split', 6, 3);
  write('at-bound', END_OUTPUT_MAX_BYTES);
  write('over', END_OUTPUT_MAX_BYTES + 1);
  write('long-runs', 6, END_OUTPUT_MAX_BYTES + 1);
  // The size reported at the end, against what the file holds when read.
  const cases: [string, number, { data: number; runs?: number } | undefined][] = [
    ['small', 6, { data: 6 }],
    ['split', 6, { data: 6, runs: 3 }],
    ['at-bound', END_OUTPUT_MAX_BYTES, { data: END_OUTPUT_MAX_BYTES }],
    ['over', END_OUTPUT_MAX_BYTES + 1, undefined],
    ['over', 10, undefined], // grew past the bound after it was sized
    ['long-runs', 6, undefined],
    ['empty', 0, undefined], // its end report says 0 bytes: nothing to send
    ['missing', 5, undefined],
  ];
  for (const [jobId, bytes, want] of cases) {
    const got = await readEndOutput(output, jobId, bytes);
    assert.deepEqual(got && { data: got.outputData.length, ...(got.outputRuns && { runs: got.outputRuns.length }) }, want, `${jobId} (${bytes} bytes)`);
  }
});
