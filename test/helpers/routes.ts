import type { OpenApiDocument } from '../../src/api/openapi.js';

/** One API operation as the OpenAPI document lists it, e.g. `GET /api/v1/app/{app_id}/endpoint`. */
export interface ApiRoute {
  method: string;
  /** The OpenAPI path template, with `{param}` placeholders. */
  path: string;
  params: string[];
}

/**
 * Every documented operation of a running hookd, taken from its own OpenAPI document (generated from the
 * route schemas, `app.openApiDocument()`), so a test that walks this list covers a route the day it is added.
 */
export function apiRoutes(document: OpenApiDocument): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(operations)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      routes.push({ method: method.toUpperCase(), path, params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!) });
    }
  }
  return routes;
}

/** Fills a path template's `{param}` placeholders (values are percent-encoded). */
export function fillPath(route: ApiRoute, values: Record<string, string>): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${route.method} ${route.path}`);
    return encodeURIComponent(value);
  });
}
