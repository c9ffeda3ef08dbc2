/**
 * One checkpoint: its record, its resource graph coloured by status, live progress while it is
 * made, and restores and verifications started from it with a form generated from the provider's
 * restore or verify schema, each followed live until it ends.
 */
import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.js';
import { ResourceGraph } from '../graph.js';
import { LiveOperation } from '../live.js';
import { href } from '../router.js';
import { parametersOf, SchemaFields, type FormValues } from '../schema-form.js';
import type { Checkpoint, GraphNode, Operation, Provider } from '../types.js';
import { Json, duration, ErrorBox, Loading, Status, Table, useLoad, when } from '../ui.js';
import { NotFound } from './not-found.js';

type Kind = 'restore' | 'verification';

function graphNodes(c: Checkpoint): GraphNode[] {
  if (c.resource_graph) {
    try {
      return (JSON.parse(c.resource_graph) as { nodes: GraphNode[] }).nodes;
    } catch {
      // an unreadable graph is drawn from the plan's resources instead
    }
  }
  return c.protection_plan.resources.map((r) => ({ ref: `${r.type}#${r.id}`, type: r.type, id: r.id, name: r.name ?? r.id, children: [] }));
}

function StartOperation({
  api,
  checkpoint,
  provider,
  kind,
  onStarted,
}: {
  api: Api;
  checkpoint: Checkpoint;
  provider: Provider;
  kind: Kind;
  onStarted: (op: Operation) => void;
}) {
  const schemas = provider.extended_info_schema?.[kind === 'restore' ? 'restore_schema' : 'verify_schema'] ?? {};
  const types = [...new Set(graphNodes(checkpoint).map((n) => n.type))];
  const [values, setValues] = useState<FormValues>({});
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const parameters = parametersOf(schemas, values);
      const body = { [kind]: { checkpoint_id: checkpoint.id, provider_id: checkpoint.provider_id, parameters } };
      const answer = await api.call<Record<Kind, Operation>>('POST', kind === 'restore' ? '/restores' : '/verifications', body);
      onStarted(answer[kind]);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const title = kind === 'restore' ? 'Restore' : 'Verify';
  return (
    <form class="stack" onSubmit={submit} aria-label={`${title} this checkpoint`}>
      <h2>{title}</h2>
      <SchemaFields schemas={schemas} types={types} values={values} onChange={setValues} />
      <div>
        <button type="submit" disabled={busy}>
          {kind === 'restore' ? 'Start restore' : 'Start verification'}
        </button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

/** A restore or verification started here: live until it ends, then its record. */
function StartedOperation({ api, kind, op }: { api: Api; kind: Kind; op: Operation }) {
  const path = `/${kind === 'restore' ? 'restores' : 'verifications'}/${encodeURIComponent(op.id)}`;
  const [done, setDone] = useState(false);
  const record = useLoad(async () => (done ? (await api.get<Record<Kind, Operation>>(path))[kind] : undefined), [api, path, done]);
  const label = `${kind === 'restore' ? 'Restore' : 'Verification'} ${op.id}`;
  if (!done) return <LiveOperation api={api} id={op.id} label={label} onFinished={() => setDone(true)} />;
  const r = record.data;
  return (
    <section class="live" aria-label={`${label} result`}>
      <p>
        {label}: {r ? <Status value={r.status} /> : <Loading what="the result" />}
      </p>
      {r && Object.keys(r.resources_reason).length > 0 ? <Json label="Reasons per resource" value={r.resources_reason} /> : null}
      <ErrorBox error={record.error} />
    </section>
  );
}

export function CheckpointDetail({ api, providerId, id }: { api: Api; providerId: string; id: string }) {
  const q = encodeURIComponent;
  const checkpoint = useLoad(
    () => api.get<{ checkpoint: Checkpoint }>(`/providers/${q(providerId)}/checkpoints/${q(id)}`),
    [api, providerId, id],
  );
  const provider = useLoad(() => api.get<{ provider: Provider }>(`/providers/${q(providerId)}`), [api, providerId]);
  const history = useLoad(
    () =>
      Promise.all([
        api.get<{ restores: Operation[] }>(`/restores?checkpoint_id=${q(id)}&limit=20`),
        api.get<{ verifications: Operation[] }>(`/verifications?checkpoint_id=${q(id)}&limit=20`),
      ]),
    [api, id],
  );
  const [started, setStarted] = useState<Array<{ kind: Kind; op: Operation }>>([]);
  const err = checkpoint.error ?? provider.error;
  if (err instanceof ApiError && err.status === 404) return <NotFound what={`Checkpoint ${id}`} />;
  if (!checkpoint.data) return err ? <ErrorBox error={err} /> : <Loading what="the checkpoint" />;
  const c = checkpoint.data.checkpoint;
  const statuses = c.extra_info.resources_status ?? {};
  const reasons = c.extra_info.resources_reason ?? {};
  const nodes = graphNodes(c);
  return (
    <section>
      <h1>Checkpoint</h1>
      <dl class="props">
        <dt>Id</dt>
        <dd>{c.id}</dd>
        <dt>Status</dt>
        <dd>
          <Status value={c.status} />
        </dd>
        <dt>Plan</dt>
        <dd>
          <a href={href(['plans', c.protection_plan.id])}>{c.protection_plan.name}</a>
        </dd>
        <dt>Created</dt>
        <dd>{when(c.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(c.created_at, c.extra_info.finished_at)}</dd>
        {c.extra_info.reason ? (
          <>
            <dt>Reason</dt>
            <dd>{c.extra_info.reason}</dd>
          </>
        ) : null}
      </dl>
      {c.status === 'protecting' ? <LiveOperation api={api} id={c.id} label="Protect" onFinished={() => checkpoint.reload()} /> : null}
      <h2>Resource graph</h2>
      <ResourceGraph nodes={nodes} statuses={statuses} />
      <Table caption="Per-resource status" head={['Resource', 'Status', 'Reason']}>
        {nodes.map((n) => (
          <tr key={n.ref}>
            <td>{n.ref}</td>
            <td>
              <Status value={statuses[n.ref]} />
            </td>
            <td>{reasons[n.ref] ?? ''}</td>
          </tr>
        ))}
      </Table>
      {started.map((s) => (
        <StartedOperation key={s.op.id} api={api} kind={s.kind} op={s.op} />
      ))}
      {c.status === 'available' && provider.data ? (
        <>
          <StartOperation
            api={api}
            checkpoint={c}
            provider={provider.data.provider}
            kind="restore"
            onStarted={(op) => setStarted([{ kind: 'restore', op }, ...started])}
          />
          <StartOperation
            api={api}
            checkpoint={c}
            provider={provider.data.provider}
            kind="verification"
            onStarted={(op) => setStarted([{ kind: 'verification', op }, ...started])}
          />
        </>
      ) : null}
      <h2>Restores and verifications of this checkpoint</h2>
      <ErrorBox error={history.error} />
      {history.data ? (
        <Table caption="Restores and verifications" head={['Kind', 'Id', 'Status', 'Started']}>
          {[
            ...history.data[0].restores.map((o) => ['restore', o] as const),
            ...history.data[1].verifications.map((o) => ['verification', o] as const),
          ].map(([kind, o]) => (
            <tr key={o.id}>
              <td>{kind}</td>
              <td>{o.id}</td>
              <td>
                <Status value={o.status} />
              </td>
              <td>{when(o.created_at)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
