/** Inbound: external systems' webhooks (POST /ingest/{source_id}) and the per-application ingest rate limit. */
export { ingestRoutes } from './routes.js';
export { enforceIngestRate, installIngestRateLimit } from './rate-limit.js';
export { SCHEME_DEFAULTS, DEFAULT_TOLERANCE_SECONDS } from './verify.js';
