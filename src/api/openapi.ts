import type { RouteOptions } from 'fastify';

interface Collected {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

/** Collects every route with its schema as it is registered (fastify's onRoute hook). */
export class OpenApiCollector {
  private readonly routes: Collected[] = [];

  onRoute = (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' || !route.url.startsWith('/v1/')) continue;
      this.routes.push({ method: method.toLowerCase(), url: route.url, schema: (route.schema ?? {}) as Record<string, unknown> });
    }
  };

  /** An OpenAPI 3.0 document generated from the same schemas that validate requests. */
  document(version: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = r.url.replace(/:([a-z_]+)/g, '{$1}').replace(/\*$/, '{resource_id}');
      const params = r.schema.params as { properties?: Record<string, unknown> } | undefined;
      const query = r.schema.querystring as { properties?: Record<string, unknown> } | undefined;
      const names = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
      const parameters = [
        ...names.map((name) => ({ name, in: 'path', required: true, schema: params?.properties?.[name] ?? { type: 'string' } })),
        ...Object.entries(query?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
        { name: 'X-Auth-Token', in: 'header', required: true, schema: { type: 'string' } },
      ];
      const tags = (r.schema.tags as string[] | undefined) ?? [];
      const description = r.schema.description as string | undefined;
      const success =
        (r.schema.successStatus as number | undefined) ??
        (r.method === 'post' && path.endsWith('/plans') ? 200 : r.method === 'post' || r.method === 'delete' ? 202 : 200);
      paths[path] ??= {};
      paths[path]![r.method] = {
        tags,
        ...(description ? { description } : {}),
        parameters,
        ...(r.schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.schema.body } } } } : {}),
        responses: {
          [String(success)]: {
            description: 'success',
          },
          '400': { description: 'bad input: {code, message}' },
          '401': { description: 'missing or invalid X-Auth-Token' },
          '404': { description: 'not found, or not in your project' },
          '409': { description: 'state conflict (e.g. the checkpoint is being restored)' },
        },
      };
    }
    return { openapi: '3.0.3', info: { title: 'Bulwark API (Karbor v1 shape)', version }, paths };
  }
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A browsable reference page rendered from the OpenAPI document (no external assets). */
export function renderDocs(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<
    string,
    Record<
      string,
      {
        tags: string[];
        description?: string;
        parameters: Array<{ name: string; in: string }>;
        requestBody?: { content: { 'application/json': { schema: unknown } } };
      }
    >
  >;
  const bodySchema = (schema: unknown): string =>
    `<details><summary>Body schema</summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details>`;
  const sections = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(
      ([method, op]) => `
<section><h2><code>${method.toUpperCase()} ${escape(path)}</code> <small>${escape(op.tags.join(', '))}</small></h2>
${op.description ? `<p>${escape(op.description)}</p>` : ''}
<p>Parameters: ${op.parameters.map((p) => `<code>${escape(p.name)}</code> (${p.in})`).join(', ')}</p>
${op.requestBody ? bodySchema(op.requestBody.content['application/json'].schema) : ''}
</section>`,
    ),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bulwark API</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}section{border-top:1px solid #ddd;padding:.5rem 0}
h2{font-size:1rem}small{color:#777}pre{background:#f6f6f6;padding:.5rem;overflow:auto}</style>
</head><body><h1>Bulwark API</h1><p>Karbor v1 shape. Every route needs <code>X-Auth-Token</code>.
Errors are <code>{"code", "message"}</code> (see docs/errors.md). Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
${sections.join('\n')}</body></html>`;
}

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI tags of a route. */
    tags?: string[];
    /** OpenAPI description of a route (what it does beyond Karbor's API, for one). */
    description?: string;
    /** The status a success answers, when not what its method implies (200, or 202 for POST and DELETE). */
    successStatus?: number;
  }
}
