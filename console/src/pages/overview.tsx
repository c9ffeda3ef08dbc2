/** Overview: per plan, its last checkpoint, the next scheduled fire and the failures of the last 24 hours. */
import type { Api } from '../api.js';
import { href } from '../router.js';
import type { Checkpoint, OperationLog, Plan, ScheduledOperation } from '../types.js';
import { ErrorBox, Loading, Status, Table, useLoad, when } from '../ui.js';

interface Row {
  plan: Plan;
  last: Checkpoint | undefined;
  nextFire: string | null;
  failures: number;
}

async function planRow(api: Api, plan: Plan, since: string): Promise<Row> {
  const q = encodeURIComponent;
  const [checkpoints, scheduled, failed] = await Promise.all([
    api.get<{ checkpoints: Checkpoint[] }>(
      `/providers/${q(plan.provider_id)}/checkpoints?plan_id=${q(plan.id)}&limit=1&sort=created_at:desc`,
    ),
    api.get<{ operations: ScheduledOperation[] }>(`/scheduled_operations?plan_id=${q(plan.id)}&limit=100`),
    api.get<{ operation_logs: OperationLog[] }>(`/operation_logs?plan_id=${q(plan.id)}&status=error&since=${q(since)}&limit=100`),
  ]);
  const fires = scheduled.operations
    .filter((o) => o.status === 'enabled' && o.next_due_at)
    .map((o) => o.next_due_at!)
    .sort();
  return { plan, last: checkpoints.checkpoints[0], nextFire: fires[0] ?? null, failures: failed.operation_logs.length };
}

export function Overview({ api }: { api: Api }) {
  const rows = useLoad(async () => {
    const { plans } = await api.get<{ plans: Plan[] }>('/plans?limit=50');
    const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    return Promise.all(plans.map((p) => planRow(api, p, since)));
  }, [api]);
  return (
    <section>
      <h1>Overview</h1>
      <p>
        Project <strong>{api.identity.project_id}</strong>, signed in as {api.identity.role}.
      </p>
      <ErrorBox error={rows.error} />
      {!rows.data ? (
        <Loading what="plans" />
      ) : rows.data.length === 0 ? (
        <p>
          No plans yet. <a href={href(['plans', 'new'])}>Create a plan</a>.
        </p>
      ) : (
        <Table caption="Plans at a glance" head={['Plan', 'Last checkpoint', 'Next scheduled fire', 'Failures (24 h)']}>
          {rows.data.map((r) => (
            <tr key={r.plan.id}>
              <td>
                <a href={href(['plans', r.plan.id])}>{r.plan.name}</a>
              </td>
              <td>
                {r.last ? (
                  <>
                    <Status value={r.last.status} />{' '}
                    <a href={href(['checkpoints', r.last.provider_id, r.last.id])}>{when(r.last.created_at)}</a>
                  </>
                ) : (
                  'none'
                )}
              </td>
              <td>{r.nextFire ? when(r.nextFire) : 'not scheduled'}</td>
              <td>{r.failures > 0 ? <a href={href(['operation-logs'], { plan_id: r.plan.id, status: 'error' })}>{r.failures}</a> : '0'}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
