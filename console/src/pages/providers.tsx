/** Providers (with their parameter schemas) and protectables (types, and browsing their instances). */
import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.js';
import { href } from '../router.js';
import type { Provider } from '../types.js';
import { Json, ErrorBox, Field, Loading, Table, useLoad } from '../ui.js';
import { NotFound } from './not-found.js';

export function Providers({ api }: { api: Api }) {
  const list = useLoad(() => api.get<{ providers: Provider[] }>('/providers'), [api]);
  return (
    <section>
      <h1>Providers</h1>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="providers" />
      ) : (
        <Table caption="Providers" head={['Name', 'Id', 'Description']}>
          {list.data.providers.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={href(['providers', p.id])}>{p.name}</a>
              </td>
              <td>{p.id}</td>
              <td>{p.description}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function ProviderDetail({ api, id }: { api: Api; id: string }) {
  const one = useLoad(() => api.get<{ provider: Provider }>(`/providers/${encodeURIComponent(id)}`), [api, id]);
  if (one.error instanceof ApiError && one.error.status === 404) return <NotFound what={`Provider ${id}`} />;
  if (!one.data) return one.error ? <ErrorBox error={one.error} /> : <Loading what="the provider" />;
  const p = one.data.provider;
  return (
    <section>
      <h1>Provider {p.name}</h1>
      <p>{p.description}</p>
      <p>
        <a href={href(['checkpoints'], { provider: p.id })}>Its checkpoints</a>
      </p>
      <h2>Parameter schemas (extended_info_schema)</h2>
      <Json label="extended_info_schema" value={p.extended_info_schema} />
    </section>
  );
}

interface Instance {
  id: string;
  type: string;
  name: string;
}

export function Protectables({ api }: { api: Api }) {
  const types = useLoad(() => api.get<{ protectable_type: string[] }>('/protectables'), [api]);
  const [type, setType] = useState('');
  const [parameters, setParameters] = useState('');
  const [instances, setInstances] = useState<Instance[]>();
  const [error, setError] = useState<Error>();
  const browse = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const chosen = type || types.data?.protectable_type[0] || '';
    const query = parameters.trim() ? `?parameters=${encodeURIComponent(parameters.trim())}` : '';
    try {
      setInstances((await api.get<{ instances: Instance[] }>(`/protectables/${encodeURIComponent(chosen)}/instances${query}`)).instances);
    } catch (err) {
      setError(err as Error);
      setInstances(undefined);
    }
  };
  return (
    <section>
      <h1>Protectables</h1>
      <ErrorBox error={types.error} />
      <form class="filters" onSubmit={browse} aria-label="Browse instances">
        <Field label="Type">
          {(id) => (
            <select id={id} value={type} onChange={(e) => setType(e.currentTarget.value)}>
              {(types.data?.protectable_type ?? []).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Parameters (JSON)" hint={'fs.directory lists the directories in {"path": "/srv"}'}>
          {(id, hint) => <input id={id} aria-describedby={hint} value={parameters} onInput={(e) => setParameters(e.currentTarget.value)} />}
        </Field>
        <button type="submit">Browse instances</button>
      </form>
      <ErrorBox error={error} />
      {instances ? (
        instances.length === 0 ? (
          <p>No instances.</p>
        ) : (
          <Table caption="Instances" head={['Type', 'Id', 'Name']}>
            {instances.map((i) => (
              <tr key={`${i.type}#${i.id}`}>
                <td>{i.type}</td>
                <td>{i.id}</td>
                <td>{i.name}</td>
              </tr>
            ))}
          </Table>
        )
      ) : null}
    </section>
  );
}
