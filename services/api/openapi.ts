// OpenAPI 3.1 generated from the route schemas, built on first request (not at boot: it costs
// memory a Pi should not spend until someone reads the docs). Replaces @fastify/swagger +
// swagger-ui, which cost ~12 MB of RSS in the core process and ~10 MB of image (measured).
// OpenAPI 3.1 uses JSON Schema 2020-12, so TypeBox schemas go in unchanged.
import type { FastifyInstance, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    /** Left out of the OpenAPI document (static files, the docs themselves). */
    hide?: boolean;
    produces?: readonly string[];
    consumes?: readonly string[];
  }
}

export interface RouteRecord {
  readonly method: string;
  readonly url: string;
  readonly permission: string;
  readonly schema: Record<string, unknown> | undefined;
  readonly hidden: boolean;
}

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; description?: string; [k: string]: unknown };

/** Records every route registered in `scope` (and its children) into `table`. */
export function recordRoutes(scope: FastifyInstance, table: RouteRecord[]): void {
  scope.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' && table.some((r) => r.url === route.url && r.method === 'GET')) continue;
      const schema = route.schema as (Record<string, unknown> & { hide?: boolean }) | undefined;
      table.push({
        method,
        url: route.url,
        permission: String((route.config as { permission?: string } | undefined)?.permission),
        schema,
        hidden: schema?.hide === true,
      });
    }
  });
}

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query' | 'header'): object[] {
  if (!schema?.properties) return [];
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema.required ?? []).includes(name),
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }));
}

export function buildOpenApi(routes: readonly RouteRecord[], info: { title: string; version: string; description: string }): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    if (r.hidden) continue;
    const s = (r.schema ?? {}) as Record<string, JsonSchema | string[] | string | undefined>;
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, object> = {};
    const produces = (s['produces'] as string[] | undefined) ?? ['application/json'];
    for (const [code, schema] of Object.entries((s['response'] ?? {}) as Record<string, JsonSchema>)) {
      responses[code] = {
        description: schema.description ?? `HTTP ${code}`,
        content: Object.fromEntries(produces.map((type) => [type, { schema }])),
      };
    }
    if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
    const body = s['body'] as JsonSchema | undefined;
    const consumes = (s['consumes'] as string[] | undefined) ?? ['application/json'];
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      ...(s['summary'] ? { summary: s['summary'] } : {}),
      ...(s['description'] ? { description: s['description'] } : {}),
      ...(s['tags'] ? { tags: s['tags'] } : {}),
      'x-permission': r.permission,
      ...(r.permission === 'public' ? {} : { security: [{ bearer: [] }] }),
      parameters: [
        ...parameters(s['params'] as JsonSchema | undefined, 'path'),
        ...parameters(s['querystring'] as JsonSchema | undefined, 'query'),
        ...parameters(s['headers'] as JsonSchema | undefined, 'header'),
      ],
      ...(body ? { requestBody: { required: true, content: Object.fromEntries(consumes.map((type) => [type, { schema: body }])) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  };
}

/** A dependency-free page that lists the operations of /docs/json (the device is offline). */
export const DOCS_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Lucid appliance API</title><style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}code,pre{font:12px ui-monospace,monospace}
details{border:1px solid #8884;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}summary{cursor:pointer}.m{display:inline-block;width:4.5rem;font-weight:700}
pre{background:#8881;padding:.6rem;overflow:auto}</style></head><body><h1>Lucid appliance API</h1>
<p>OpenAPI 3.1 document: <a href="/docs/json">/docs/json</a></p><div id="ops"></div>
<script>fetch('/docs/json').then(r=>r.json()).then(d=>{const root=document.getElementById('ops');
for(const [p,ops] of Object.entries(d.paths))for(const [m,op] of Object.entries(ops)){const det=document.createElement('details');
const sum=document.createElement('summary');const mm=document.createElement('span');mm.className='m';mm.textContent=m.toUpperCase();
sum.append(mm,document.createTextNode(p+'  —  '+(op.summary||'')+'  ['+op['x-permission']+']'));const pre=document.createElement('pre');
pre.textContent=JSON.stringify(op,null,2);det.append(sum,pre);root.append(det);}});</script></body></html>`;
