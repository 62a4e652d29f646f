import type { FastifyContextConfig } from 'fastify';
import { HookdError } from '../domain/errors.js';
import { PORTAL_CAPABILITIES, type ApiKey, type PortalCapability } from '../domain/types.js';

/**
 * Svix's app-portal capabilities, enforced route by route for a token asked for with `capabilities`
 * (POST /api/v1/auth/app-portal-access/{app_id}). Such a token is a portal for the application's customer, who
 * manages endpoints: what it may do is what its capabilities name, and nothing more.
 *
 * - ViewBase: every read, except an endpoint's secret.
 * - ViewEndpointSecret: reading an endpoint's secret (ManageEndpointSecret and ManageEndpoint include it).
 * - ManageEndpointSecret: rotating it (ManageEndpoint includes it).
 * - CreateAttempts: resending a message, recovering failed deliveries, replaying (missing, bulk), sending an example.
 * - ManageEndpoint: creating, changing, disabling and deleting endpoints, their headers and secrets.
 * - ManageTransformations: hookd has no transformations; it grants nothing.
 *
 * Each route declares what it needs with its options (`config: { capability }`, read by the auth hook); a read
 * that declares nothing needs ViewBase. Any other write (sending messages, changing the application, expunging
 * content, sources) declares nothing, and no capability grants it.
 * A portal token asked for without capabilities gets them all, as in Svix (app-portal.ts). A read-only token is limited
 * the same way, to the read capabilities (see limitsOf). API keys are limited only by their scope.
 */
export type Requirement = PortalCapability | 'always' | 'never';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the route needs of a capability-limited token, declared with the route: 'always' for every token (its
     * session, logout). Without it, a read needs ViewBase and a write is refused.
     */
    capability?: PortalCapability | 'always';
  }
}

/** Capabilities that only read: a token given no others is read-only. */
export const READ_CAPABILITIES: ReadonlySet<PortalCapability> = new Set(['ViewBase', 'ViewEndpointSecret']);

/**
 * Capabilities others include, as in Svix: managing the secret includes reading it, and managing endpoints includes
 * their secrets ("read/modify any field or configuration of an endpoint (including secrets)"): an endpoint's PATCH
 * may set its secret, so rotating it is no more.
 */
const IMPLIED: ReadonlyMap<PortalCapability, readonly PortalCapability[]> = new Map([
  ['ManageEndpointSecret', ['ViewEndpointSecret']],
  ['ManageEndpoint', ['ManageEndpointSecret', 'ViewEndpointSecret']],
]);

/**
 * The capabilities a key is limited to: those it was given and those they include (IMPLIED), narrowed to the read
 * ones for a read-only key (every read, its session and logout); null when it is not limited. The portal's session
 * lists these, so the portal shows a control when the capability is in the list, with no rule of its own.
 */
export function limitsOf(key: Pick<ApiKey, 'readOnly' | 'capabilities'>): PortalCapability[] | null {
  if (!key.readOnly && key.capabilities === null) return null;
  const given = key.capabilities ?? PORTAL_CAPABILITIES;
  const withImplied = [...new Set(given.flatMap((c) => [c, ...(IMPLIED.get(c) ?? [])]))];
  return key.readOnly ? withImplied.filter((c) => READ_CAPABILITIES.has(c)) : withImplied;
}

/** What a request with `method` to a route declared with `config` needs of a capability-limited token. */
function requirementOf(method: string, config: FastifyContextConfig): Requirement {
  if (config.capability !== undefined) return config.capability;
  return method === 'GET' || method === 'HEAD' ? 'ViewBase' : 'never';
}

/** Whether `capabilities` (a key's limits, implied ones included) meet `requirement`. */
function meets(capabilities: readonly PortalCapability[], requirement: Requirement): boolean {
  if (requirement === 'always') return true;
  if (requirement === 'never') return false;
  return capabilities.includes(requirement);
}

/**
 * Refuses (403) a request a token limited to `capabilities` (limitsOf) may not make; `route` is the matched route's
 * config, undefined when no route matched (the request goes on to its 404).
 */
export function checkCapabilities(capabilities: readonly PortalCapability[], method: string, route: FastifyContextConfig | undefined): void {
  if (route === undefined) return;
  const requirement = requirementOf(method, route);
  if (meets(capabilities, requirement)) return;
  throw new HookdError(
    'HOOKD_ERR_FORBIDDEN',
    requirement === 'never'
      ? 'an app-portal token given capabilities may not make this request (no capability grants it)'
      : `this app-portal token lacks the ${requirement} capability`,
  );
}
