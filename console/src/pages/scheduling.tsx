/** Triggers, scheduled operations (suspend, resume, run now) and operation logs. */
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { href, type Route } from '../router.js';
import type { OperationLog, ScheduledOperation, Trigger } from '../types.js';
import { ErrorBox, Loading, Status, Table, useLoad, when } from '../ui.js';

export function Triggers({ api }: { api: Api }) {
  const list = useLoad(() => api.get<{ triggers: Trigger[] }>('/triggers?limit=1000'), [api]);
  return (
    <section>
      <h1>Triggers</h1>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="triggers" />
      ) : (
        <Table caption="Triggers" head={['Name', 'Type', 'Properties', 'Scheduled operations']}>
          {list.data.triggers.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.type}</td>
              <td>
                <code>{JSON.stringify(t.properties)}</code>
              </td>
              <td>
                <a href={href(['scheduled-operations'], { trigger_id: t.id })}>using it</a>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function ScheduledOperations({ api, route }: { api: Api; route: Route }) {
  const filters = ['plan_id', 'trigger_id'].flatMap((k) => (route.query.get(k) ? [`${k}=${encodeURIComponent(route.query.get(k)!)}`] : []));
  const list = useLoad(
    () => api.get<{ operations: ScheduledOperation[] }>(`/scheduled_operations?${['limit=1000', ...filters].join('&')}`),
    [api, filters.join('&')],
  );
  const [error, setError] = useState<Error>();
  const [notice, setNotice] = useState('');
  const act = async (o: ScheduledOperation, action: 'suspend' | 'resume' | 'run') => {
    setError(undefined);
    try {
      const answer = await api.call<{ operation_log?: OperationLog }>(
        'POST',
        `/scheduled_operations/${encodeURIComponent(o.id)}/${action}`,
      );
      setNotice(
        action === 'run'
          ? `Run of ${o.name} queued (operation log ${answer.operation_log?.id ?? ''}).`
          : `${o.name} ${action === 'suspend' ? 'suspended' : 'resumed'}.`,
      );
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <section>
      <h1>Scheduled operations</h1>
      <ErrorBox error={list.error ?? error} />
      <p class="notice" role="status" hidden={!notice}>
        {notice}
      </p>
      {!list.data ? (
        <Loading what="scheduled operations" />
      ) : (
        <Table caption="Scheduled operations" head={['Name', 'Type', 'Plan', 'Status', 'Next fire', 'Actions']}>
          {list.data.operations.map((o) => (
            <tr key={o.id} data-id={o.id}>
              <td>{o.name}</td>
              <td>{o.operation_type}</td>
              <td>{o.plan_id ? <a href={href(['plans', o.plan_id])}>{o.plan_id}</a> : '—'}</td>
              <td>
                <Status value={o.status} />
              </td>
              <td>{o.status === 'enabled' ? when(o.next_due_at) : '—'}</td>
              <td class="actions">
                {o.status === 'enabled' ? (
                  <button type="button" class="secondary" onClick={() => act(o, 'suspend')} aria-label={`Suspend ${o.name}`}>
                    Suspend
                  </button>
                ) : (
                  <button type="button" class="secondary" onClick={() => act(o, 'resume')} aria-label={`Resume ${o.name}`}>
                    Resume
                  </button>
                )}
                <button type="button" onClick={() => act(o, 'run')} aria-label={`Run now: ${o.name}`}>
                  Run now
                </button>
                <a href={href(['operation-logs'], { scheduled_operation_id: o.id })}>Logs</a>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function OperationLogs({ api, route }: { api: Api; route: Route }) {
  const filters = ['plan_id', 'scheduled_operation_id', 'status'].flatMap((k) =>
    route.query.get(k) ? [`${k}=${encodeURIComponent(route.query.get(k)!)}`] : [],
  );
  const list = useLoad(
    () => api.get<{ operation_logs: OperationLog[] }>(`/operation_logs?${['limit=100', 'sort=created_at:desc', ...filters].join('&')}`),
    [api, filters.join('&')],
  );
  return (
    <section>
      <h1>Operation logs</h1>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="operation logs" />
      ) : (
        <Table caption="Operation logs" head={['Created', 'Type', 'Status', 'Plan', 'Checkpoint', 'Started', 'Ended', 'Error']}>
          {list.data.operation_logs.map((l) => (
            <tr key={l.id}>
              <td>{when(l.created_at)}</td>
              <td>{l.operation_type}</td>
              <td>
                <Status value={l.status} />
              </td>
              <td>{l.plan_id ? <a href={href(['plans', l.plan_id])}>{l.plan_id}</a> : '—'}</td>
              <td>{l.checkpoint_id ?? '—'}</td>
              <td>{when(l.started_at)}</td>
              <td>{when(l.ended_at)}</td>
              <td>{l.error_info ?? ''}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
