import type { FastifyInstance } from 'fastify';

/**
 * Response headers that keep browsers from misusing what hookd serves: no MIME sniffing, no framing, no referrer,
 * no cross-origin embedding, and a Content-Security-Policy on every response. HTML pages (the API docs, the
 * dashboard) may load only their own scripts, styles and data; everything else may load nothing. JSON responses
 * can carry tokens and secrets, so they are never cached.
 *
 * HSTS is left to the TLS terminator in front of hookd (hookd itself speaks plain HTTP).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  // Swagger UI sets inline style attributes; styles cannot run code.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'";

const ALWAYS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
};

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(ALWAYS);
    const type = String(reply.getHeader('content-type') ?? '');
    reply.header('content-security-policy', type.startsWith('text/html') ? PAGE_CSP : NON_PAGE_CSP);
    if (type.startsWith('application/json') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
