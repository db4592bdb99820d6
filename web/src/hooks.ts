import { useContext, useEffect, useState } from 'preact/hooks';
import { LiveContext, type Live } from './app.js';

/** Loads with `load` now and again whenever `deps` change or a live event arrives; keeps the last good data on error. */
export function useLive<T>(load: (live: Live, signal: AbortSignal) => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: unknown; live: Live } {
  const live = useContext(LiveContext);
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    load(live, abort.signal).then(
      (d) => {
        if (abort.signal.aborted) return;
        setData(d);
        setError(undefined);
      },
      (err: unknown) => {
        if (!abort.signal.aborted) setError(err);
      },
    );
    return () => abort.abort();
  }, [live.client, live.tick, ...deps]);
  return { data, error, live };
}

/**
 * A page's buttons: `act` makes a call, keeps its error to show, and once it succeeded bumps
 * `done` (a dependency of the page's useLive), so the page reads again.
 */
export function useAction(): { act: (call: () => Promise<unknown>) => Promise<void>; error: unknown; done: number } {
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState(0);
  const act = async (call: () => Promise<unknown>): Promise<void> => {
    try {
      setError(undefined);
      await call();
      setDone((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  return { act, error, done };
}

/** The current time, every second: for "12s ago". */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}
