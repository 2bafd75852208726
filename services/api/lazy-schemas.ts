// Route schemas compiled on first use instead of at boot. Fastify compiles every route's
// validators (ajv) and serializers (fast-json-stringify) in one synchronous block when the app
// becomes ready: measured ~1.1–1.3 s of blocked event loop in core on this (loaded) 2-core
// machine, long enough to miss supervisor heartbeats, and a Pi 4 is slower. Lazily, each
// schema is compiled by the same compilers with the same options the first time its route
// runs, and routes nobody calls cost no memory. The RBAC matrix and fuzz tests call every route.
//
// Bodies and the rest are compiled by two different ajv instances: a request body is JSON, so
// its types are what the client sent and are never coerced (`{"username": ["owner"]}` is a 400,
// not the string "owner"); the query string, path parameters and headers are text, so their
// scalars are coerced ("true" → true, "5" → 5) but never wrapped into or out of arrays.
import ValidatorSelector from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

type Compile<F> = (routeSchema: Record<string, unknown>) => F;
type Validate = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Factory<F> = (externalSchemas: unknown, options: unknown) => Compile<F>;

interface AjvServerOptions { readonly customOptions?: Record<string, unknown>; readonly [key: string]: unknown }
const withCoercion = (options: unknown, coerceTypes: boolean): AjvServerOptions => {
  const o = (options ?? {}) as AjvServerOptions;
  return { ...o, customOptions: { ...(o.customOptions ?? {}), coerceTypes } };
};

function lazyValidators(): Factory<Validate> {
  const real = ValidatorSelector() as unknown as Factory<Validate>;
  return (externalSchemas, options) => {
    const compileBody = real(externalSchemas, withCoercion(options, false));
    const compileText = real(externalSchemas, withCoercion(options, true));
    return (routeSchema) => {
      const compile = routeSchema['httpPart'] === 'body' ? compileBody : compileText;
      let fn: Validate | undefined;
      const validate: Validate = (data, ctx) => {
        fn ??= compile(routeSchema);
        const result = fn.schemaEnv ? fn(data, ctx) : fn(data);
        validate.errors = fn.errors;
        return result;
      };
      // fastify passes { parentData, parentDataProperty } (so ajv can coerce a root value) only
      // to functions that carry schemaEnv; ours forwards it to ajv's when it has one.
      validate.schemaEnv = true;
      return validate;
    };
  };
}

function lazySerializers(): Factory<(data: unknown) => string> {
  const real = SerializerSelector() as unknown as Factory<(data: unknown) => string>;
  return (externalSchemas, options) => {
    const compile = real(externalSchemas, options);
    return (routeSchema) => {
      let fn: ((data: unknown) => string) | undefined;
      return (data) => (fn ??= compile(routeSchema))(data);
    };
  };
}

/** For Fastify({ schemaController: lazySchemaController() }). */
export function lazySchemaController(): { compilersFactory: { buildValidator: never; buildSerializer: never } } {
  return { compilersFactory: { buildValidator: lazyValidators() as never, buildSerializer: lazySerializers() as never } };
}
