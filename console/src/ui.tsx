/** Small shared pieces: loading a resource, status badges, errors, tables, labelled fields. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setError(undefined);
    load().then(
      (d) => live && setData(d),
      (e: unknown) => live && setError(e instanceof Error ? e : new Error(String(e))),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { data, error, reload: useCallback(() => setN((x) => x + 1), []) };
}

const KIND: Record<string, string> = {
  available: 'ok',
  success: 'ok',
  enabled: 'ok',
  error: 'bad',
  fail: 'bad',
  protecting: 'busy',
  in_progress: 'busy',
  running: 'busy',
  queued: 'busy',
  deleting: 'busy',
  restoring: 'busy',
  verifying: 'busy',
};

/** ok, bad, busy or idle: how a status is coloured, in badges and graph nodes alike. */
export const statusKind = (status: string | undefined): string => KIND[status ?? ''] ?? 'idle';

export function Status({ value }: { value: string | undefined }) {
  return <span class={`status ${statusKind(value)}`}>{value ?? 'unknown'}</span>;
}

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? `${error.code}: ` : '';
  return (
    <div class="error" role="alert">
      {code}
      {error.message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-live="polite">Loading {what}…</p>;
}

/** A table with a caption (screen readers announce it), scrolling sideways on narrow screens. */
export function Table({ caption, head, children }: { caption: string; head: string[]; children: ComponentChildren }) {
  return (
    // Focusable, so a table wider than a phone can be scrolled with the keyboard.
    <div class="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption class="skip-link">{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

let fieldIds = 0;
/** A label tied to its control, with an optional hint read out with it. */
export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: (id: string, hintId?: string) => ComponentChildren;
}) {
  const [id] = useState(() => `f${++fieldIds}`);
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(id, hintId)}
      {hint ? (
        <span class="hint" id={hintId}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function duration(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '—';
  const s = Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** JSON shown as it is, in a focusable region so a long line can be scrolled with the keyboard. */
export function Json({ label, value }: { label: string; value: unknown }) {
  return (
    <pre role="region" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
