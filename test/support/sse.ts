/** A Server-Sent Events reader over fetch, for tests (Node 20 has no EventSource). */

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

export class SseReader {
  private readonly events: SseEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  private ended = false;
  private failure: unknown;
  /** Comment lines seen (`: ping`). */
  readonly comments: string[] = [];

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly abort: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const abort = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const reader = new SseReader(res.status, res.headers, abort);
    if (res.body) void reader.pump(res.body);
    return reader;
  }

  /** Every event received so far. */
  get received(): readonly SseEvent[] {
    return this.events;
  }

  /** Resolves with the first event from index `from` on that matches; rejects if the stream ends or `timeoutMs` passes first. */
  async next(match: (e: SseEvent) => boolean, from = 0, timeoutMs = 30_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.events.length; i++) if (match(this.events[i]!)) return this.events[i]!;
      if (this.ended) throw new Error(`the event stream ended without a matching event (${String(this.failure ?? 'closed')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs}ms; got ${JSON.stringify(this.events.map((e) => [e.id, e.event, e.data.id, e.data.state]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          this.parse(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
        }
        this.wake();
      }
    } catch (err) {
      this.failure = err;
    }
    this.ended = true;
    this.wake();
  }

  private parse(block: string): void {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
    }
    if (fields.data === undefined) return;
    this.events.push({ id: Number(fields.id), event: fields.event ?? 'message', data: JSON.parse(fields.data) as Record<string, unknown> });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
