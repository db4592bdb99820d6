import { useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { OutputSearch, OutputStream } from '../../../src/client/index.js';
import { savedToken } from '../api.js';
import { LiveContext } from '../app.js';
import { parseAnsi, styleClasses, type Run, type Style } from '../lib/ansi.js';
import { fromLineStart, upToLineEnd } from '../lib/output-window.js';

/** Bytes read when the page opens (the output's end), and each time "load earlier" is pressed. */
const WINDOW_BYTES = 256 * 1024;
/** Bytes read either side of a search match jumped to. */
const AROUND_HIT_BYTES = 64 * 1024;
/** Followed output beyond this is dropped from the page's front (the API keeps all of it: "load earlier" reads it back). */
const MAX_SHOWN_CHARS = 4 * 1024 * 1024;

/** The part of the output on the page: bytes `start` to `end`, as text; `hit`: a search match's line, as characters of `text`. */
interface Shown {
  start: number;
  end: number;
  size: number;
  text: string;
  hit?: { from: number; to: number };
}

const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/**
 * A job's output, large or not: opened at its end (a Range of the last bytes, never the whole),
 * followed live from there, earlier parts read on demand; search runs on the scheduler over the
 * whole output and a match is shown with the bytes around it; download saves the whole file.
 * All of it works on stdout and stderr interleaved, or on one of them (the API's `stream`).
 */
export function JobOutput({ id, attempt }: { id: string; attempt: number }) {
  const { client } = useContext(LiveContext);
  const [shown, setShown] = useState<Shown | undefined>(undefined);
  // Following the end, or showing a search match (then nothing is followed).
  const [atEnd, setAtEnd] = useState(true);
  const [follow, setFollow] = useState(true);
  const [stream, setStream] = useState<OutputStream | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const pane = useRef<HTMLPreElement>(null);
  const hitMark = useRef<HTMLElement>(null);

  useEffect(() => {
    if (!atEnd) return;
    const abort = new AbortController();
    setShown(undefined);
    setError(undefined);
    void (async () => {
      try {
        const tail = fromLineStart(await client.outputRange(id, { last: WINDOW_BYTES }, { attempt, stream, signal: abort.signal }));
        let view: Shown = { start: tail.start, end: tail.start + tail.bytes.byteLength, size: tail.size, text: decode(tail.bytes) };
        setShown(view);
        const decoder = new TextDecoder();
        for await (const chunk of client.output(id, { follow: true, attempt, stream, offset: view.end, signal: abort.signal })) {
          view = trimmed({
            ...view,
            end: view.end + chunk.byteLength,
            size: Math.max(view.size, view.end + chunk.byteLength),
            text: view.text + decoder.decode(chunk, { stream: true }),
          });
          setShown(view);
        }
      } catch (err) {
        if (!abort.signal.aborted) setError(err);
      }
    })();
    return () => abort.abort();
  }, [client, id, attempt, stream, atEnd]);

  useEffect(() => {
    if (atEnd && follow && pane.current) pane.current.scrollTop = pane.current.scrollHeight;
  }, [shown, follow, atEnd]);
  useEffect(() => hitMark.current?.scrollIntoView({ block: 'center' }), [shown?.hit?.from]);

  const act = (work: () => Promise<void>) => () => void work().catch(setError);
  const loadEarlier = act(async () => {
    if (!shown || shown.start === 0) return;
    const part = fromLineStart(await client.outputRange(id, { from: Math.max(0, shown.start - WINDOW_BYTES), to: shown.start - 1 }, { attempt, stream }));
    const text = decode(part.bytes);
    const hit = shown.hit && { from: shown.hit.from + text.length, to: shown.hit.to + text.length };
    setShown({ ...shown, start: part.start, text: text + shown.text, ...(hit && { hit }) });
  });
  const loadLater = act(async () => {
    if (!shown || shown.end >= shown.size) return;
    const part = upToLineEnd(await client.outputRange(id, { from: shown.end, to: shown.end + WINDOW_BYTES - 1 }, { attempt, stream }));
    setShown({ ...shown, end: part.start + part.bytes.byteLength, size: part.size, text: shown.text + decode(part.bytes) });
  });
  const showMatch = (offset: number) =>
    act(async () => {
      setAtEnd(false);
      const from = Math.max(0, offset - AROUND_HIT_BYTES);
      const part = upToLineEnd(fromLineStart(await client.outputRange(id, { from, to: offset + AROUND_HIT_BYTES - 1 }, { attempt, stream })));
      const before = decode(part.bytes.subarray(0, offset - part.start));
      const rest = decode(part.bytes.subarray(offset - part.start));
      const lineEnd = rest.indexOf('\n');
      const hit = { from: before.length, to: before.length + (lineEnd < 0 ? rest.length : lineEnd + 1) };
      setShown({ start: part.start, end: part.start + part.bytes.byteLength, size: part.size, text: before + rest, hit });
    })();

  const pick = (value: string) => {
    setStream(value === 'stdout' || value === 'stderr' ? value : undefined);
    setAtEnd(true);
  };

  return (
    <section class="card">
      <h2>
        Output{' '}
        <select class="output-stream" aria-label="Stream" value={stream ?? 'both'} onChange={(e) => pick((e.target as HTMLSelectElement).value)}>
          <option value="both">stdout and stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>{' '}
        <label class="follow">
          <input type="checkbox" checked={follow} disabled={!atEnd} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> follow
        </label>
        <Download id={id} attempt={attempt} stream={stream} onError={setError} />
      </h2>
      {/* Keyed by stream: a match's offset counts within the stream it was found in. */}
      <OutputSearchForm key={stream ?? 'both'} id={id} attempt={attempt} stream={stream} onShow={showMatch} onError={setError} />
      {error ? <p class="error">{error instanceof Error ? error.message : String(error)}</p> : null}
      {shown && shown.start > 0 && (
        <p class="output-more">
          <button type="button" onClick={loadEarlier}>
            Load earlier
          </button>{' '}
          <span class="muted" data-testid="output-window">
            bytes {shown.start}–{shown.end} of {shown.size}
          </span>
        </p>
      )}
      <pre class="output" ref={pane} data-testid="output">
        <Text text={shown?.text ?? ''} hit={shown?.hit} mark={hitMark} />
      </pre>
      {!atEnd && (
        <p class="output-more">
          {shown && shown.end < shown.size && (
            <button type="button" onClick={loadLater}>
              Load later
            </button>
          )}{' '}
          <button type="button" onClick={() => setAtEnd(true)}>
            Back to the end
          </button>
        </p>
      )}
    </section>
  );
}

/** Followed output past the bound loses its oldest whole lines (their bytes counted, so "load earlier" reads them back). */
function trimmed(view: Shown): Shown {
  if (view.text.length <= MAX_SHOWN_CHARS) return view;
  const cut = view.text.indexOf('\n', view.text.length - MAX_SHOWN_CHARS) + 1;
  if (cut <= 0) return view;
  return { ...view, start: view.start + new TextEncoder().encode(view.text.slice(0, cut)).byteLength, text: view.text.slice(cut) };
}

/** The text with its ANSI colours, a search match's line marked. */
function Text({ text, hit, mark }: { text: string; hit: Shown['hit']; mark: { current: HTMLElement | null } }) {
  const parts = useMemo(() => {
    const pieces = hit ? [text.slice(0, hit.from), text.slice(hit.from, hit.to), text.slice(hit.to)] : [text];
    let style: Style = {};
    return pieces.map((piece) => {
      const parsed = parseAnsi(piece, style);
      style = parsed.style;
      return parsed.runs;
    });
  }, [text, hit?.from, hit?.to]);
  return (
    <>
      {parts.map((runs, i) =>
        hit && i === 1 ? (
          <mark ref={mark} data-testid="output-hit">
            <Runs runs={runs} />
          </mark>
        ) : (
          <Runs runs={runs} />
        ),
      )}
    </>
  );
}

function Runs({ runs }: { runs: Run[] }) {
  return (
    <>
      {runs.map((r) => {
        const cls = styleClasses(r.style);
        const color = r.style.fg?.startsWith('rgb') ? r.style.fg : undefined;
        return cls || color ? (
          <span class={cls} style={color ? { color } : undefined}>
            {r.text}
          </span>
        ) : (
          r.text
        );
      })}
    </>
  );
}

/** Finds text anywhere in the output (on the scheduler) and lists the matching lines; one clicked is shown. */
function OutputSearchForm({
  id,
  attempt,
  stream,
  onShow,
  onError,
}: {
  id: string;
  attempt: number;
  stream: OutputStream | undefined;
  onShow: (offset: number) => void;
  onError: (err: unknown) => void;
}) {
  const { client } = useContext(LiveContext);
  const [found, setFound] = useState<OutputSearch | undefined>(undefined);
  const submit = (e: Event) => {
    e.preventDefault();
    const q = new FormData(e.target as HTMLFormElement).get('q');
    if (typeof q !== 'string' || q === '') return;
    client.searchOutput(id, q, { attempt, stream }).then(setFound, onError);
  };
  return (
    <>
      <form class="output-search" onSubmit={submit}>
        <input name="q" type="search" placeholder="Find in the whole output" aria-label="Find in the output" maxLength={200} />
        <button type="submit">Find</button>
      </form>
      {found && (
        <div class="output-matches" data-testid="output-matches">
          {found.matches.length === 0 ? <p class="muted">No line holds it.</p> : null}
          {found.matches.map((m) => (
            <button type="button" class="link mono" onClick={() => onShow(m.offset)}>
              {m.line}: {m.text}
            </button>
          ))}
          {found.more ? <p class="muted">The first {found.matches.length} matching lines: search for more words to narrow it.</p> : null}
        </div>
      )}
    </>
  );
}

/**
 * Saves the whole output. Without a token a plain link: the browser streams the file to disk.
 * With one (it goes in a header, which a link cannot send) the file is fetched as a Blob, which
 * Chromium keeps out of the page's JavaScript memory (on disk when large), then saved.
 */
function Download({ id, attempt, stream, onError }: { id: string; attempt: number; stream: OutputStream | undefined; onError: (err: unknown) => void }) {
  const { client } = useContext(LiveContext);
  const name = `job-${id}-attempt-${attempt}${stream ? `.${stream}` : ''}.log`;
  if (!savedToken()) {
    return (
      <a class="download" href={client.outputUrl(id, true, attempt, stream)} download={name}>
        Download
      </a>
    );
  }
  const save = () =>
    client.outputBlob(id, { attempt, stream }).then((blob) => {
      const url = URL.createObjectURL(blob);
      const a = Object.assign(document.createElement('a'), { href: url, download: name });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }, onError);
  return (
    <button type="button" class="download link" onClick={save}>
      Download
    </button>
  );
}
