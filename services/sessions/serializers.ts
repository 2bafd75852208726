// Response serializers shared across the session routes. fastify compiles one serializer per
// route and status code with fast-json-stringify (code generation plus a fresh Ajv each time); a
// dozen routes answering the same SessionView and ErrorSchema made that the largest part of the
// core's start-up (measured: ~100 ms here, several times that on a Pi). This compiler builds each
// distinct schema object once. Set on the session routes' own encapsulation context only.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type RouteDef = Parameters<ReturnType<ReturnType<typeof SerializerSelector>>>[0];
type Serializer = (doc: unknown) => string;

export function sharedSerializerCompiler(): (route: { schema?: unknown; method: string; url: string; httpStatus?: string }) => Serializer {
  const build = SerializerSelector()();
  const cache = new WeakMap<object, Serializer>();
  return (route) => {
    const def = { ...route, httpStatus: route.httpStatus ?? '' } as RouteDef;
    const key = route.schema;
    if (!key || typeof key !== 'object') return build(def);
    let fn = cache.get(key);
    if (!fn) {
      fn = build(def);
      cache.set(key, fn);
    }
    return fn;
  };
}
