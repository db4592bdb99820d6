import { DEFAULT_SEARCH_MATCHES, JobIdParams, OutputSearchQuerySchema, OutputSearchSchema } from '../../api/jobs.js';
import type { JobService } from '../job-service.js';
import { LineSearch } from '../output-search.js';
import type { App } from './app.js';

/**
 * `GET /v1/jobs/:id/output/search`: the lines of a job's output that hold a text, each with the
 * byte it starts at, so that a reader (the dashboard) that shows only part of a large output
 * can find text anywhere in it and ask for the bytes around a match. The output (or one of its
 * streams) is read as the output route reads it (the kept copy, else the worker), once, as far
 * as the limit.
 */
export function outputSearchRoute(app: App, jobs: JobService): void {
  app.get(
    '/v1/jobs/:id/output/search',
    {
      schema: {
        operationId: 'searchJobOutput',
        tags: ['jobs'],
        summary:
          "The lines of the job's output (of the live attempt, or of attempt=N; stdout and stderr interleaved, or stream=stdout|stderr) that hold q, as written, each with its first byte and number in what was searched: at most limit of them",
        params: JobIdParams,
        querystring: OutputSearchQuerySchema,
        response: { 200: OutputSearchSchema },
        errors: [404, 409, 410, 502, 503, 504],
      },
    },
    async (req) => {
      const { q, attempt, limit, stream } = req.query;
      const output = await jobs.output(req.params.id, undefined, { follow: false, attempt, stream });
      const search = new LineSearch(q, limit ?? DEFAULT_SEARCH_MATCHES);
      let searched = 0;
      try {
        for await (const chunk of output.body as AsyncIterable<Buffer>) {
          search.push(chunk);
          searched += chunk.length;
          if (search.more) break;
        }
      } finally {
        output.body.destroy();
      }
      if (!search.more) search.end();
      return { attempt: output.attempt, matches: search.matches, more: search.more, bytes_searched: searched };
    },
  );
}
