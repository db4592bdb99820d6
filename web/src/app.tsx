import { createContext } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { BatonClient, WhoAmI } from '../../src/client/index.js';
import { allows, type Role } from '../../src/scheduler/auth/roles.js';
import { makeClient, message, needsToken, refusedToken, savedToken, saveToken, tokenProblem } from './api.js';
import { parseRoute, type Route } from './lib/route.js';
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
  /** May the caller do what needs this role? Buttons it may not use are not shown. */
  can: (need: Role) => boolean;
}

export const LiveContext = createContext<Live>(undefined as unknown as Live);

function useHashRoute(): Route {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = (): void => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return useMemo(() => parseRoute(hash), [hash]);
}

/**
 * Goes to `hash`. `replace`: in place of the current entry (a filter typed letter by letter
 * should not fill the history); the page hears of it as of any other change of address.
 */
export function navigate(hash: string, replace = false): void {
  if (location.hash === hash) return;
  if (!replace) {
    location.hash = hash;
    return;
  }
  history.replaceState(history.state, '', hash);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

/** May the page call the API with its token? `asking` shows the token form, with why when a token was refused. */
type Access = { state: 'checking' } | { state: 'granted'; who?: WhoAmI } | { state: 'asking'; problem?: string };

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
  // wrong token costs one failed attempt of this address's budget, not one per request. Its
  // answer is the caller's role, so the pages show only the buttons it may use.
  useEffect(() => {
    const abort = new AbortController();
    setAccess({ state: 'checking' });
    client.whoami({ signal: abort.signal }).then(
      (who) => {
        if (abort.signal.aborted) return;
        saveToken(token);
        setAccess({ state: 'granted', who });
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        if (refusedToken(err)) {
          // Not kept: the next visit would present it again.
          saveToken('');
          setAccess({ state: 'asking', problem: token ? tokenProblem(err) : undefined });
          return;
        }
        // Not about the token (the scheduler is unreachable, say): the pages show it, the event
        // stream retries, and its first success checks again (below) to learn the role.
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

  // The role is unknown until the check answered: until then no button that needs one is shown.
  const who = access.state === 'granted' ? access.who : undefined;
  useEffect(() => {
    if (stream === 'live' && granted && who === undefined) setTries((n) => n + 1);
  }, [stream]);
  const live: Live = {
    client,
    tick,
    askToken: () => setAccess({ state: 'asking', problem: token ? NO_LONGER_ACCEPTED : undefined }),
    can: (need) => who !== undefined && allows(who.role, need),
  };
  const [page, id, ...rest] = route.path;
  const nav = [
    ['#/', 'Overview', undefined],
    ['#/workers', 'Workers', 'workers'],
    ['#/jobs', 'Jobs', 'jobs'],
    ['#/schedules', 'Schedules', 'schedules'],
    ['#/submit', 'Submit', 'submit'],
  ] as const;
  return (
    <LiveContext.Provider value={live}>
      <header>
        <span class="brand">Baton</span>
        <nav>
          {nav
            .filter(([, , p]) => p !== 'submit' || live.can('operator'))
            .map(([href, label, p]) => (
              <a href={href} class={page === p ? 'active' : ''}>
                {label}
              </a>
            ))}
        </nav>
        <span class={`stream ${stream}`} title="live updates over /v1/events">
          {stream === 'live' ? '● live' : stream === 'connecting' ? '○ connecting' : '○ reconnecting'}
        </span>
        {who?.auth && (
          <button type="button" class="who" data-testid="who" title="use another token" onClick={() => setAccess({ state: 'asking' })}>
            {who.name} · {who.role}
          </button>
        )}
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
          <Page page={page} id={id} rest={rest} params={route.params} can={live.can} known={who !== undefined} />
        </main>
      )}
    </LiveContext.Provider>
  );
}

/** The page for an address; anything else is "not found", with a way back. */
function Page({ page, id, rest, params, can, known }: { page?: string; id?: string; rest: string[]; params: Record<string, string>; can: Live['can']; known: boolean }) {
  if (rest.length > 0) return <NotFound />;
  if (page === undefined) return <Overview />;
  if (page === 'jobs') return id === undefined ? <JobsPage params={params} /> : <JobPage id={id} />;
  if (id !== undefined) return <NotFound />;
  if (page === 'workers') return <WorkersPage />;
  if (page === 'schedules') return <SchedulesPage />;
  // A viewer's submit would be refused: the form says so instead of failing on its button.
  if (page === 'submit') return !known || can('operator') ? <SubmitPage /> : <NotAllowed what="submit jobs" need="operator" />;
  return <NotFound />;
}

function NotFound() {
  return (
    <section class="card narrow" data-testid="not-found">
      <h2>Page not found</h2>
      <p>
        There is no page at <code>{location.hash}</code>.
      </p>
      <p>
        <a href="#/">← Back to the overview</a> or see the <a href="#/jobs">jobs</a>.
      </p>
    </section>
  );
}

function NotAllowed({ what, need }: { what: string; need: Role }) {
  return (
    <section class="card narrow">
      <h2>Not allowed</h2>
      <p>
        Your token may not {what}: that needs the {need} role. <a href="#/">← Back to the overview</a>
      </p>
    </section>
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
