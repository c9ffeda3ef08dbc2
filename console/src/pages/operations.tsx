/** Restores or verifications: newest first, with per-resource status and reasons. */
import type { Api } from '../api.js';
import { href } from '../router.js';
import type { Operation } from '../types.js';
import { ErrorBox, Loading, Status, Table, useLoad, when } from '../ui.js';

export function Operations({ api, kind }: { api: Api; kind: 'restores' | 'verifications' }) {
  const list = useLoad(() => api.get<Record<string, Operation[]>>(`/${kind}?limit=100&sort=created_at:desc`), [api, kind]);
  const title = kind === 'restores' ? 'Restores' : 'Verifications';
  return (
    <section>
      <h1>{title}</h1>
      <p>Start one from a checkpoint's page.</p>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what={kind} />
      ) : (
        <Table caption={title} head={['Started', 'Status', 'Checkpoint', 'Resources', 'Reasons']}>
          {(list.data[kind] ?? []).map((o) => (
            <tr key={o.id}>
              <td>{when(o.created_at)}</td>
              <td>
                <Status value={o.status} />
              </td>
              <td>
                <a href={href(['checkpoints', o.provider_id, o.checkpoint_id])}>{o.checkpoint_id}</a>
              </td>
              <td>
                {Object.entries(o.resources_status)
                  .map(([r, s]) => `${r}: ${s}`)
                  .join(', ')}
              </td>
              <td>
                {Object.entries(o.resources_reason)
                  .map(([r, s]) => `${r}: ${s}`)
                  .join('; ')}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
