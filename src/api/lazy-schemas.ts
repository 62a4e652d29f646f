import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

/**
 * The routes' validators (Ajv) and response serializers (fast-json-stringify) are compiled on their route's first
 * request, not when the server starts, as Fastify does by default. About a hundred routes declare schemas and an
 * embedded hookd's traffic uses a handful of them: compiled code held for the rest was 7-8 MB of RSS at rest
 * (docs/architecture.md, "What the memory of `hookd start` is"). A first request pays its route's compilation once
 * (milliseconds); every later one calls the compiled function through one closure.
 *
 * Compiling at start also proved that every schema compiles; the tests do that with `lazySchemasOf(app).compileAll()`.
 */
export class LazySchemas {
  private readonly waiting = new Set<() => unknown>();

  /** What `compile` returns, compiled on the first call (and so once). */
  once<T>(compile: () => T): () => T {
    let compiled: { value: T } | undefined;
    const get = (): T => {
      if (!compiled) {
        compiled = { value: compile() };
        this.waiting.delete(get);
      }
      return compiled.value;
    };
    this.waiting.add(get);
    return get;
  }

  /** A validator that compiles on its first call. */
  validator(compile: () => ValidateFunction): ValidateFunction {
    const get = this.once(compile);
    const validate = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => get()(data, context)) as ValidateFunction;
    // Fastify reads both after the call (errors) or before it (schemaEnv: Ajv may then replace a coerced root value).
    Object.defineProperty(validate, 'errors', { get: () => get().errors, set: () => {}, configurable: true });
    Object.defineProperty(validate, 'schemaEnv', { get: () => get().schemaEnv, configurable: true });
    return validate;
  }

  /** Fastify's `schemaController` option: its default serializer compiler, each serializer made when first used. */
  serializers(): FastifyServerOptions['schemaController'] {
    return {
      compilersFactory: {
        buildSerializer: (externalSchemas, options) => {
          const compile = SerializerSelector()(externalSchemas, options as Parameters<ReturnType<typeof SerializerSelector>>[1]);
          return (route) => {
            const get = this.once(() => compile(route as Parameters<typeof compile>[0]));
            return (data: unknown) => get()(data);
          };
        },
      },
    };
  }

  /** How many validators and serializers have not been compiled yet. */
  get notCompiled(): number {
    return this.waiting.size;
  }

  /** Compiles every schema not compiled yet: throws what Fastify would have thrown at start. */
  compileAll(): void {
    for (const get of [...this.waiting]) get();
  }
}

const ofApp = new WeakMap<FastifyInstance, LazySchemas>();

export function attachLazySchemas(app: FastifyInstance, schemas: LazySchemas): void {
  ofApp.set(app, schemas);
}

/** The route schemas of `app` (the tests compile them all: a schema that cannot compile fails there). */
export function lazySchemasOf(app: FastifyInstance): LazySchemas | undefined {
  return ofApp.get(app);
}
