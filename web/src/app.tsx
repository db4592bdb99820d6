import { createContext } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { BatonClient } from '../../src/client/index.js';
import { makeClient, message, needsToken, refusedToken, savedToken, saveToken } from './api.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { SchedulesPage } from './pages/schedules.js';
import { Overview } from './pages/overview.js';
import { SubmitPage } from './pages/submit.js';
import { WorkersPage } from './pages/workers.js';

export interface Live {
  client: BatonClient;
  /** Grows with every job or worker event: pages re-read when it changes. */
  tick: number;
  /** Shows the token form (after a 401). */
  askToken: () => void;
}

export const LiveContext = createContext<Live>(undefined as unknown as Live);

function useHashRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = (): void => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.slice(1);
}

/** May the page call the API with its token? `asking` shows the token form, with why when a token was refused. */
type Access = { state: 'checking' } | { state: 'granted' } | { state: 'asking'; problem?: string };

const NO_LONGER_ACCEPTED = 'The scheduler no longer accepts this token (revoked?).';

export function App() {
  const [token, setToken] = useState(savedToken());
  // Bumped by every use of the form, so entering the same token again checks it again.
  const [tries, setTries] = useState(0);
  const [access, setAccess] = useState<Access>({ state: 'checking' });
  const [tick, setTick] = useState(0);
  const [stream, setStream] = useState<'connecting' | 'live' | 'down'>('connecting');
  const client = useMemo(() => makeClient(token), [token]);
  const route = useHashRoute();
  const granted = access.state === 'granted';

  // One call checks the token before the pages and the event stream make a dozen at once: a
  // wrong token costs one failed attempt of this address's budget, not one per request.
  useEffect(() => {
    const abort = new AbortController();
    setAccess({ state: 'checking' });
    client.listWorkers({ signal: abort.signal }).then(
      () => {
        if (abort.signal.aborted) return;
        saveToken(token);
        setAccess({ state: 'granted' });
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        if (refusedToken(err)) {
          // Not kept: the next visit would present it again.
          saveToken('');
          setAccess({ state: 'asking', problem: token ? `This token was not accepted: ${message(err)}` : undefined });
          return;
        }
        // Not about the token (the scheduler is unreachable, say): the pages show it, the event stream retries.
        setAccess({ state: 'granted' });
      },
    );
    return () => abort.abort();
  }, [client, tries]);

  // One event stream for the whole page; a burst of events makes one re-read.
  useEffect(() => {
    if (!granted) return;
    const abort = new AbortController();
    let timer: number | undefined;
    void (async () => {
      for (let attempt = 0; !abort.signal.aborted; attempt++) {
        try {
          setStream('connecting');
          for await (const _e of client.events({
            signal: abort.signal,
            onOpen: () => {
              setStream('live');
              setTick((t) => t + 1);
            },
          })) {
            clearTimeout(timer);
            timer = window.setTimeout(() => setTick((t) => t + 1), 150);
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          if (needsToken(err)) {
            setAccess({ state: 'asking', problem: NO_LONGER_ACCEPTED });
            return;
          }
          setStream('down');
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    })();
    return () => abort.abort();
  }, [client, granted]);

  const live: Live = { client, tick, askToken: () => setAccess({ state: 'asking', problem: token ? NO_LONGER_ACCEPTED : undefined }) };
  const [page, id] = route.split('/').filter(Boolean);
  const nav = [
    ['#/', 'Overview'],
    ['#/workers', 'Workers'],
    ['#/jobs', 'Jobs'],
    ['#/schedules', 'Schedules'],
    ['#/submit', 'Submit'],
  ] as const;
  return (
    <LiveContext.Provider value={live}>
      <header>
        <span class="brand">Baton</span>
        <nav>
          {nav.map(([href, label]) => (
            <a href={href} class={`#${route}` === href || (href !== '#/' && `#${route}`.startsWith(href)) ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`stream ${stream}`} title="live updates over /v1/events">
          {stream === 'live' ? '● live' : stream === 'connecting' ? '○ connecting' : '○ reconnecting'}
        </span>
      </header>
      {access.state === 'asking' ? (
        <TokenForm
          problem={access.problem}
          onSave={(t) => {
            setToken(t);
            setTries((n) => n + 1);
          }}
        />
      ) : !granted ? (
        <main aria-busy="true" />
      ) : (
        <main>
          {page === undefined && <Overview />}
          {page === 'workers' && <WorkersPage />}
          {page === 'jobs' && id === undefined && <JobsPage />}
          {page === 'jobs' && id !== undefined && <JobPage id={decodeURIComponent(id)} />}
          {page === 'schedules' && <SchedulesPage />}
          {page === 'submit' && <SubmitPage />}
        </main>
      )}
    </LiveContext.Provider>
  );
}

/** Nothing is sent while typing: the token is checked once, when the form is submitted. */
function TokenForm({ problem, onSave }: { problem: string | undefined; onSave: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main>
      <section class="card narrow">
        <h2>API token</h2>
        <p>
          This scheduler needs an API token. Make one with <code>baton token create --role operator --name me</code> and paste it here; it is kept in this browser only.
        </p>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            onSave(value.trim());
          }}
        >
          <input type="password" name="token" placeholder="baton_…" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          <button type="submit">Use token</button>
        </form>
      </section>
    </main>
  );
}

/** Renders an error from a call: a 401 opens the token form instead. */
export function ErrorLine({ error, live }: { error: unknown; live: Live }) {
  useEffect(() => {
    if (needsToken(error)) live.askToken();
  }, [error]);
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {message(error)}
    </p>
  );
}
