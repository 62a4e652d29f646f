import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web dashboard: a single-page app built by Vite (`npm run build`) into dist/dashboard/ui and served here
 * under /dashboard. It is static: it talks to the API with the token the operator types in (kept in the tab's
 * sessionStorage), so these routes need no auth of their own.
 *
 * Only files that exist in the bundle are served, looked up in a map made from the build directory: a URL can
 * never name anything else on disk. Hashed assets are cached for a year; index.html is revalidated every time,
 * so a new build is picked up at once (the bundle is re-read when index.html changes). Any other path under
 * /dashboard is a page of the app and gets index.html (client-side routing).
 *
 * The same build holds the app portal (portal.html, the page a SaaS's customer sees, src/portal in the
 * dashboard sources): every path under /portal is one of its pages and gets portal.html; its scripts and styles
 * are the bundle's /dashboard/assets. Portal pages may be framed by HOOKD_PORTAL_FRAME_ANCESTORS
 * (src/api/security-headers.ts); nothing else may.
 */

export interface DashboardOptions {
  /** The built bundle; default dist/dashboard/ui of this package (the same from src/ under tsx and from dist/). */
  root?: string;
}

/** Both src/dashboard/routes.ts and dist/dashboard/routes.js sit two levels below the package root. */
export const DEFAULT_DASHBOARD_ROOT = fileURLToPath(new URL('../../dist/dashboard/ui/', import.meta.url));

const PORTAL_PAGE = 'portal.html';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface BundleFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

interface Bundle {
  indexMtimeMs: number;
  files: Map<string, BundleFile>;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : entry.isFile() ? [path] : [];
  });
}

function cacheControlFor(path: string): string {
  if (path === 'index.html' || path === PORTAL_PAGE) return 'no-cache';
  // Vite puts content-hashed files under assets/: a changed file gets a new name.
  if (path.startsWith('assets/')) return 'public, max-age=31536000, immutable';
  return 'public, max-age=3600';
}

/** Reads the bundle into memory (it is small), or null when it was not built. */
function loadBundle(root: string): Bundle | null {
  let indexMtimeMs: number;
  try {
    indexMtimeMs = statSync(join(root, 'index.html')).mtimeMs;
  } catch {
    return null;
  }
  const files = new Map<string, BundleFile>();
  for (const path of listFiles(root)) {
    const name = relative(root, path).split(sep).join('/');
    files.set(name, { body: readFileSync(path), type: TYPES[extname(name)] ?? 'application/octet-stream', cacheControl: cacheControlFor(name) });
  }
  return { indexMtimeMs, files };
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const root = options.root ?? DEFAULT_DASHBOARD_ROOT;
  let bundle: Bundle | null = null;

  /** The current bundle: re-read when index.html was rebuilt (or first built) since it was loaded. */
  function current(): Bundle | null {
    let mtimeMs: number | null;
    try {
      mtimeMs = statSync(join(root, 'index.html')).mtimeMs;
    } catch {
      mtimeMs = null;
    }
    if (mtimeMs === null) bundle = null;
    else if (!bundle || bundle.indexMtimeMs !== mtimeMs) bundle = loadBundle(root);
    return bundle;
  }

  function send(reply: FastifyReply, file: BundleFile): FastifyReply {
    return reply.type(file.type).header('cache-control', file.cacheControl).send(file.body);
  }

  function notBuilt(reply: FastifyReply): FastifyReply {
    return reply.code(503).send({
      code: 'dashboard_not_built',
      detail: `the dashboard bundle is missing (${join(root, 'index.html')}): run \`npm run build\``,
    });
  }

  async function serve(path: string, reply: FastifyReply): Promise<FastifyReply> {
    const built = current();
    if (!built) return notBuilt(reply);
    // The portal's page is served under /portal only (where it may be framed), never as a dashboard page.
    const file = path === PORTAL_PAGE ? undefined : built.files.get(path);
    if (file) return send(reply, file);
    // A missing asset is a 404 (an old page asking for a file a new build replaced), not the app's page.
    if (path.startsWith('assets/')) {
      return reply.code(404).send({ code: 'not_found', detail: `no dashboard file ${path}` });
    }
    return send(reply, built.files.get('index.html')!);
  }

  const schema = { hide: true };
  app.get('/dashboard', { schema }, async (_request, reply) => serve('index.html', reply));
  app.get<{ Params: { '*': string } }>('/dashboard/*', { schema }, async (request, reply) => serve(request.params['*'] || 'index.html', reply));

  /** Every portal path is a page of the portal (client-side routing). */
  async function servePortal(reply: FastifyReply): Promise<FastifyReply> {
    const page = current()?.files.get(PORTAL_PAGE);
    return page ? send(reply, page) : notBuilt(reply);
  }
  app.get('/portal', { schema }, async (_request, reply) => servePortal(reply));
  app.get('/portal/*', { schema }, async (_request, reply) => servePortal(reply));
}
