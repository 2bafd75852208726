// No type coercion of request bodies: for every route of the appliance's full route set (the
// live route table, not a list) that takes a JSON body, and for every property of that body,
// a body that is otherwise valid but carries a value of a wrong JSON type in that property is a
// 400 API_ERR_VALIDATION pointing at the property — `{"username": ["owner"]}` never logs in as
// owner. Query strings and path parameters still coerce scalars (`?all=true`, `/chunks/0`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoreApp, PASSWORD, type CoreApp } from '../../helpers/core-app.js';
import { sample, wrongTyped, type JsonSchema } from '../../helpers/schema-sample.js';

let c: CoreApp;
let token: string;

beforeAll(async () => {
  c = await startCoreApp();
  token = (await c.setupRoot()).accessToken;
}, 60_000);
afterAll(async () => c?.close());

const fill = (url: string, params: Record<string, unknown>): string =>
  url.replace(/:([A-Za-z]+)/g, (_m, name: string) => encodeURIComponent(String(params[name] ?? 'x')));

describe('request bodies are never coerced', () => {
  it('a wrong-typed value in any body field of any route is a 400 naming that field', async () => {
    const failures: string[] = [];
    let sent = 0;
    let routesWithBodies = 0;
    for (const route of c.app.lucidRoutes) {
      const body = route.schema?.['body'] as JsonSchema | undefined;
      if (!body?.properties || Object.keys(body.properties).length === 0) continue;
      routesWithBodies++;
      const params = (route.schema?.['params'] ? sample(route.schema['params'] as JsonSchema) : {}) as Record<string, unknown>;
      const query = (route.schema?.['querystring'] ? sample(route.schema['querystring'] as JsonSchema) : {}) as Record<string, string>;
      const base = sample(body) as Record<string, unknown>;
      for (const [field, schema] of Object.entries(body.properties)) {
        for (const wrong of wrongTyped(schema)) {
          const payload = { ...base, [field]: wrong };
          const res = await c.inject({ method: route.method as 'POST', url: fill(route.url, params), query, token, payload });
          sent++;
          const answer = res.json() as { statusCode: number; code: string; details?: { context?: string; errors?: Array<{ instancePath?: string }> } };
          const path = answer.details?.errors?.[0]?.instancePath ?? '';
          if (res.statusCode !== 400 || answer.code !== 'API_ERR_VALIDATION' || answer.details?.context !== 'body' || !path.startsWith(`/${field}`)) {
            failures.push(`${route.method} ${route.url} ${field}=${JSON.stringify(wrong)} → ${res.statusCode} ${answer.code} ${answer.details?.context ?? ''} ${path}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(routesWithBodies).toBeGreaterThan(10);
    expect(sent).toBeGreaterThan(100);
  }, 120_000);

  it('the reported attack: {"username": ["root"]} is refused, the string logs in', async () => {
    const asArray = await c.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: ['root'], password: PASSWORD } });
    expect(asArray.json()).toMatchObject({ statusCode: 400, code: 'API_ERR_VALIDATION' });
    const asNumberPassword = await c.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'root', password: 123456789012 } });
    expect(asNumberPassword.statusCode).toBe(400);
    expect((await c.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'root', password: PASSWORD } })).statusCode).toBe(200);
  });

  it('query strings and path parameters still coerce scalars, but not into arrays', async () => {
    expect((await c.inject({ method: 'GET', url: '/api/v1/auth/sessions?all=true', token })).statusCode).toBe(200);
    expect((await c.inject({ method: 'GET', url: '/api/v1/audit?limit=2', token })).json().entries.length).toBeLessThanOrEqual(2);
    expect((await c.inject({ method: 'GET', url: '/api/v1/audit?limit=2&limit=3', token })).json()).toMatchObject({ statusCode: 400, code: 'API_ERR_VALIDATION' });
  });
});
