/**
 * Live progress of one operation over the API's SSE stream: status, the current resource and task,
 * and done/total of the latest progress report. Nothing reloads; `onFinished` tells the page to
 * fetch the record again once the operation ends.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { bytes, ErrorBox, Status } from './ui.js';

interface Progress {
  resource: string;
  done: number;
  total?: number;
  unit?: string;
}

export function LiveOperation({
  api,
  id,
  label,
  onFinished,
}: {
  api: Api;
  id: string;
  label: string;
  onFinished: (status: string) => void;
}) {
  const [status, setStatus] = useState<string>();
  const [task, setTask] = useState<string>();
  const [progress, setProgress] = useState<Progress>();
  const [tasks, setTasks] = useState({ done: 0, total: 0 });
  const [error, setError] = useState<Error>();
  useEffect(() => {
    const abort = new AbortController();
    let finished = false;
    api
      .watch(
        id,
        (type, e) => {
          if (type === 'status') setStatus(String(e.status));
          else if (type === 'operation_started') setTasks((t) => ({ ...t, total: Number(e.total_tasks) }));
          else if (type === 'task_started') setTask(`${String(e.task)} ${String(e.resource)}`);
          else if (type === 'task_succeeded' || type === 'task_skipped') setTasks((t) => ({ ...t, done: t.done + 1 }));
          else if (type === 'progress')
            setProgress({
              resource: String(e.resource),
              done: Number(e.done),
              ...(e.total !== undefined ? { total: Number(e.total) } : {}),
              ...(e.unit !== undefined ? { unit: String(e.unit) } : {}),
            });
          else if (type === 'operation_finished') {
            finished = true;
            setStatus(String(e.status));
            onFinished(String(e.status));
          }
          if (type === 'status' && ['available', 'error', 'success', 'fail', 'deleted'].includes(String(e.status))) {
            finished = true;
            onFinished(String(e.status));
          }
        },
        abort.signal,
      )
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        // The stream ended without telling the end (the server went away): show the record as it is.
        if (!finished && !abort.signal.aborted) onFinished('unknown');
      });
    return () => abort.abort();
  }, [api, id]);
  const amount = (n: number | undefined) => (progress?.unit === 'bytes' ? bytes(n) : String(n ?? '?'));
  return (
    <section class="live" aria-label={`${label} progress`}>
      <p>
        {label}: <Status value={status} /> {tasks.total > 0 ? `(${tasks.done} of ${tasks.total} tasks)` : null}
      </p>
      {task ? <p>Now: {task}</p> : null}
      <progress
        aria-label={`${label} progress`}
        {...(progress?.total
          ? { max: progress.total, value: progress.done }
          : tasks.total > 0
            ? { max: tasks.total, value: tasks.done }
            : {})}
      />
      <p class="progress-text" aria-live="polite" data-done={progress ? String(progress.done) : ''}>
        {progress
          ? `${progress.resource}: ${amount(progress.done)}${progress.total !== undefined ? ` of ${amount(progress.total)}` : ''} done`
          : 'Waiting for progress…'}
      </p>
      <ErrorBox error={error} />
    </section>
  );
}
