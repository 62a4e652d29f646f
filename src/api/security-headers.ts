import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Response headers that keep browsers from misusing what hookd serves: no MIME sniffing, no framing, no referrer,
 * no cross-origin embedding, and a Content-Security-Policy on every response. HTML pages (the API docs, the
 * dashboard) may load only their own scripts, styles and data; everything else may load nothing. JSON responses
 * can carry tokens and secrets, so they are never cached.
 *
 * The one exception to "never framed" is the app portal (/portal pages): a SaaS embeds it in its own page, so its
 * pages carry `frame-ancestors` from HOOKD_PORTAL_FRAME_ANCESTORS (default 'none') and no X-Frame-Options (which
 * cannot name an origin), and may show https: images (an application's logo). Its scripts, API calls and
 * everything else stay same-origin.
 *
 * HSTS is left to the TLS terminator in front of hookd (hookd itself speaks plain HTTP).
 */
function pageCsp(imgSrc: string, frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "script-src-attr 'none'",
    // Swagger UI sets inline style attributes; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    `img-src ${imgSrc}`,
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

export const PAGE_CSP = pageCsp("'self' data:", "'none'");

/** The portal pages' CSP: the page CSP with https: images (logos) and the configured frame ancestors. */
export function portalCsp(frameAncestors: string): string {
  return pageCsp("'self' data: https:", frameAncestors);
}

export const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The routes of the portal's pages (src/dashboard/routes.ts). */
const PORTAL_ROUTES: ReadonlySet<string> = new Set(['/portal', '/portal/*']);

const ALWAYS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
};

export interface SecurityHeaderOptions {
  /** frame-ancestors of the portal pages (config.portalFrameAncestors); default 'none'. */
  portalFrameAncestors?: string;
}

const isPortalPage = (request: FastifyRequest, type: string) => type.startsWith('text/html') && PORTAL_ROUTES.has(request.routeOptions.url ?? '');

export function installSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions = {}): void {
  const portal = portalCsp(options.portalFrameAncestors ?? "'none'");
  app.addHook('onSend', async (request, reply, payload) => {
    reply.headers(ALWAYS);
    const type = String(reply.getHeader('content-type') ?? '');
    if (isPortalPage(request, type)) {
      reply.header('content-security-policy', portal);
    } else {
      reply.header('x-frame-options', 'DENY');
      reply.header('content-security-policy', type.startsWith('text/html') ? PAGE_CSP : NON_PAGE_CSP);
    }
    if (type.startsWith('application/json') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
