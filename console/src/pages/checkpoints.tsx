/** Checkpoints of one provider: filter by plan, status and date; per-resource status; delete with confirmation. */
import { useRef, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { href, type Route } from '../router.js';
import type { Checkpoint, Plan, Provider } from '../types.js';
import { duration, ErrorBox, Field, Loading, Status, Table, useLoad, when } from '../ui.js';

const STATUSES = ['protecting', 'available', 'error', 'deleting', 'deleted'];

/** `2026-01-02` from a date input, as the start or the end of that day (UTC). */
const dayBound = (day: string, end: boolean) => (day ? `${day}T${end ? '23:59:59' : '00:00:00'}Z` : '');

export function resourceSummary(c: Checkpoint): string {
  const counts: Record<string, number> = {};
  for (const s of Object.values(c.extra_info.resources_status ?? {})) counts[s] = (counts[s] ?? 0) + 1;
  return Object.entries(counts)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

export function Checkpoints({ api, route }: { api: Api; route: Route }) {
  const q = encodeURIComponent;
  const providers = useLoad(() => api.get<{ providers: Provider[] }>('/providers'), [api]);
  const plans = useLoad(() => api.get<{ plans: Plan[] }>('/plans?limit=1000'), [api]);
  const filter = {
    provider: route.query.get('provider') ?? providers.data?.providers[0]?.id ?? '',
    plan_id: route.query.get('plan_id') ?? '',
    status: route.query.get('status') ?? '',
    since: route.query.get('since') ?? '',
    until: route.query.get('until') ?? '',
  };
  const key = JSON.stringify(filter);
  const list = useLoad(async () => {
    if (!filter.provider) return undefined;
    const params = new URLSearchParams({ limit: '100', sort: 'created_at:desc' });
    if (filter.plan_id) params.set('plan_id', filter.plan_id);
    if (filter.status) params.set('status', filter.status);
    if (filter.since) params.set('start_date', dayBound(filter.since, false));
    if (filter.until) params.set('end_date', dayBound(filter.until, true));
    return api.get<{ checkpoints: Checkpoint[] }>(`/providers/${q(filter.provider)}/checkpoints?${params.toString()}`);
  }, [api, key]);
  const [draft, setDraft] = useState(filter);
  const [doomed, setDoomed] = useState<Checkpoint>();
  const [error, setError] = useState<Error>();
  const dialog = useRef<HTMLDialogElement>(null);
  const planName = (id: string) => plans.data?.plans.find((p) => p.id === id)?.name ?? id;
  const apply = (e: Event) => {
    e.preventDefault();
    const target = href(['checkpoints'], { ...draft, provider: draft.provider || filter.provider });
    // The same filters again: the hash does not change, so ask again for what may have changed since.
    if (target === location.hash) list.reload();
    else location.hash = target;
  };
  const askDelete = (c: Checkpoint) => {
    setDoomed(c);
    dialog.current?.showModal();
  };
  const confirmDelete = async () => {
    dialog.current?.close();
    if (!doomed) return;
    setError(undefined);
    try {
      await api.call('DELETE', `/providers/${q(doomed.provider_id)}/checkpoints/${q(doomed.id)}`);
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <section>
      <h1>Checkpoints</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter checkpoints">
        <Field label="Provider">
          {(id) => (
            <select
              id={id}
              value={draft.provider || filter.provider}
              onChange={(e) => setDraft({ ...draft, provider: e.currentTarget.value })}
            >
              {(providers.data?.providers ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Plan">
          {(id) => (
            <select id={id} value={draft.plan_id} onChange={(e) => setDraft({ ...draft, plan_id: e.currentTarget.value })}>
              <option value="">any</option>
              {(plans.data?.plans ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Status">
          {(id) => (
            <select id={id} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From (UTC day)">
          {(id) => <input id={id} type="date" value={draft.since} onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })} />}
        </Field>
        <Field label="To (UTC day)">
          {(id) => <input id={id} type="date" value={draft.until} onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })} />}
        </Field>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={providers.error ?? list.error ?? error} />
      {!list.data ? (
        <Loading what="checkpoints" />
      ) : list.data.checkpoints.length === 0 ? (
        <p>No checkpoints match.</p>
      ) : (
        <Table caption="Checkpoints" head={['Created', 'Plan', 'Status', 'Resources', 'Duration', 'Reason', 'Actions']}>
          {list.data.checkpoints.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={href(['checkpoints', c.provider_id, c.id])}>{when(c.created_at)}</a>
              </td>
              <td>{planName(c.protection_plan.id)}</td>
              <td>
                <Status value={c.status} />
              </td>
              <td>{resourceSummary(c)}</td>
              <td>{duration(c.created_at, c.extra_info.finished_at)}</td>
              <td>{c.extra_info.reason ?? ''}</td>
              <td>
                {c.status === 'available' || c.status === 'error' ? (
                  <button type="button" class="danger" onClick={() => askDelete(c)} aria-label={`Delete checkpoint ${c.id}`}>
                    Delete
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <dialog ref={dialog} aria-labelledby="delete-title">
        <h2 id="delete-title">Delete this checkpoint?</h2>
        <p>
          Checkpoint {doomed?.id} of plan {doomed ? planName(doomed.protection_plan.id) : ''}, made {when(doomed?.created_at)}. Its data is
          removed from the bank; this cannot be undone.
        </p>
        <div class="actions">
          <button type="button" class="danger" onClick={confirmDelete}>
            Delete checkpoint
          </button>
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </section>
  );
}
