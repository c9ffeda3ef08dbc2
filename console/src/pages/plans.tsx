/** Plans: the list, one plan (resources, provider, parameters, scheduled operations, protect now) and a new plan form. */
import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.js';
import { href, navigate } from '../router.js';
import type { Checkpoint, Plan, Provider, ScheduledOperation } from '../types.js';
import { Json, ErrorBox, Field, Loading, Status, Table, useLoad, when } from '../ui.js';
import { NotFound } from './not-found.js';

export function Plans({ api }: { api: Api }) {
  const plans = useLoad(() => api.get<{ plans: Plan[] }>('/plans?limit=1000'), [api]);
  return (
    <section>
      <h1>Plans</h1>
      <p>
        <a href={href(['plans', 'new'])}>New plan</a>
      </p>
      <ErrorBox error={plans.error} />
      {!plans.data ? (
        <Loading what="plans" />
      ) : (
        <Table caption="Plans" head={['Name', 'Status', 'Resources', 'Provider', 'Created']}>
          {plans.data.plans.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={href(['plans', p.id])}>{p.name}</a>
              </td>
              <td>{p.status}</td>
              <td>{p.resources.map((r) => `${r.type}#${r.id}`).join(', ')}</td>
              <td>
                <a href={href(['providers', p.provider_id])}>{p.provider_id}</a>
              </td>
              <td>{when(p.created_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function PlanDetail({ api, id }: { api: Api; id: string }) {
  const q = encodeURIComponent;
  const plan = useLoad(() => api.get<{ plan: Plan }>(`/plans/${q(id)}`), [api, id]);
  const scheduled = useLoad(() => api.get<{ operations: ScheduledOperation[] }>(`/scheduled_operations?plan_id=${q(id)}`), [api, id]);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  if (plan.error instanceof ApiError && plan.error.status === 404) return <NotFound what={`Plan ${id}`} />;
  if (!plan.data) return plan.error ? <ErrorBox error={plan.error} /> : <Loading what="the plan" />;
  const p = plan.data.plan;
  const protect = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { checkpoint } = await api.call<{ checkpoint: Checkpoint }>('POST', `/providers/${q(p.provider_id)}/checkpoints`, {
        checkpoint: { plan_id: p.id },
      });
      navigate(['checkpoints', checkpoint.provider_id, checkpoint.id]);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>Plan {p.name}</h1>
      <div class="actions">
        <button type="button" onClick={protect} disabled={busy}>
          Protect now
        </button>
        <a href={href(['checkpoints'], { provider: p.provider_id, plan_id: p.id })}>Checkpoints of this plan</a>
      </div>
      <ErrorBox error={error} />
      <dl class="props">
        <dt>Id</dt>
        <dd>{p.id}</dd>
        <dt>Status</dt>
        <dd>{p.status}</dd>
        <dt>Description</dt>
        <dd>{p.description || '—'}</dd>
        <dt>Provider</dt>
        <dd>
          <a href={href(['providers', p.provider_id])}>{p.provider_id}</a>
        </dd>
        <dt>Created</dt>
        <dd>{when(p.created_at)}</dd>
      </dl>
      <h2>Resources</h2>
      <Table caption="Resources of the plan" head={['Type', 'Id', 'Name']}>
        {p.resources.map((r) => (
          <tr key={`${r.type}#${r.id}`}>
            <td>{r.type}</td>
            <td>{r.id}</td>
            <td>{r.name ?? ''}</td>
          </tr>
        ))}
      </Table>
      <h2>Parameters</h2>
      <Json label="Plan parameters" value={p.parameters} />
      <h2>Scheduled operations</h2>
      <ErrorBox error={scheduled.error} />
      {scheduled.data && scheduled.data.operations.length > 0 ? (
        <Table caption="Scheduled operations of the plan" head={['Name', 'Type', 'Status', 'Next fire']}>
          {scheduled.data.operations.map((o) => (
            <tr key={o.id}>
              <td>
                <a href={href(['scheduled-operations'], { plan_id: p.id })}>{o.name}</a>
              </td>
              <td>{o.operation_type}</td>
              <td>
                <Status value={o.status} />
              </td>
              <td>{when(o.next_due_at)}</td>
            </tr>
          ))}
        </Table>
      ) : (
        <p>None.</p>
      )}
    </section>
  );
}

interface ResourceRow {
  type: string;
  id: string;
}

export function NewPlan({ api }: { api: Api }) {
  const providers = useLoad(() => api.get<{ providers: Provider[] }>('/providers'), [api]);
  const types = useLoad(() => api.get<{ protectable_type: string[] }>('/protectables'), [api]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [provider, setProvider] = useState('');
  const [rows, setRows] = useState<ResourceRow[]>([{ type: '', id: '' }]);
  const [parameters, setParameters] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const setRow = (i: number, row: Partial<ResourceRow>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...row } : r)));
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let params: unknown;
    try {
      params = parameters.trim() === '' ? undefined : JSON.parse(parameters);
    } catch {
      setError(new Error('Parameters must be a JSON object, e.g. {"fs.directory": {"exclude": ["cache"]}}'));
      return;
    }
    setBusy(true);
    try {
      const plan = {
        name,
        provider_id: provider || providers.data?.providers[0]?.id,
        ...(description ? { description } : {}),
        resources: rows.filter((r) => r.id !== '').map((r) => ({ type: r.type || types.data?.protectable_type[0], id: r.id, name: r.id })),
        ...(params === undefined ? {} : { parameters: params }),
      };
      const created = await api.call<{ plan: Plan }>('POST', '/plans', { plan });
      navigate(['plans', created.plan.id]);
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>New plan</h1>
      <ErrorBox error={providers.error ?? types.error} />
      <form class="stack" onSubmit={submit}>
        <Field label="Name">{(id) => <input id={id} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label="Description">
          {(id) => <input id={id} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}
        </Field>
        <Field label="Provider">
          {(id) => (
            <select id={id} value={provider} onChange={(e) => setProvider(e.currentTarget.value)}>
              {(providers.data?.providers ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset class="stack">
          <legend>Resources</legend>
          {rows.map((r, i) => (
            <div class="filters" key={i}>
              <Field label={`Resource ${i + 1} type`}>
                {(id) => (
                  <select id={id} value={r.type} onChange={(e) => setRow(i, { type: e.currentTarget.value })}>
                    {(types.data?.protectable_type ?? []).map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label={`Resource ${i + 1} id`} hint="e.g. /srv/www for fs.directory">
                {(id, hint) => (
                  <input
                    id={id}
                    aria-describedby={hint}
                    required={i === 0}
                    value={r.id}
                    onInput={(e) => setRow(i, { id: e.currentTarget.value })}
                  />
                )}
              </Field>
            </div>
          ))}
          <div>
            <button type="button" class="secondary" onClick={() => setRows([...rows, { type: '', id: '' }])}>
              Add a resource
            </button>
          </div>
        </fieldset>
        <Field label="Parameters (JSON, optional)" hint={'Per resource type, e.g. {"fs.directory": {"exclude": ["cache"]}}'}>
          {(id, hint) => (
            <textarea id={id} aria-describedby={hint} value={parameters} onInput={(e) => setParameters(e.currentTarget.value)} />
          )}
        </Field>
        <div>
          <button type="submit" disabled={busy}>
            Create plan
          </button>
        </div>
        <ErrorBox error={error} />
      </form>
    </section>
  );
}
