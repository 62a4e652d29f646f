/**
 * svix 1.99.1's authentication.dashboardAccess (Svix's older name for app-portal-access, which 1.x still offers)
 * against a real hookd: the link opens the portal, and the token is one application's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException, Svix } from 'svix';
import { TEST_TOKEN } from '../helpers/hookd.js';
import { expectApiError, withHookd } from './shared.js';

test('svix 1.99.1 dashboardAccess answers a portal url and a token scoped to the application; a scoped key may not ask', () =>
  withHookd(async ({ hookd }) => {
    const svix = new Svix(TEST_TOKEN, { serverUrl: hookd.url });
    const app = await svix.application.create({ name: 'Legacy portal' });
    const other = await svix.application.create({ name: 'Someone else' });
    const access = await svix.authentication.dashboardAccess(app.id);
    assert.match(access.url, new RegExp(`^${hookd.url}/portal/#token=`));
    assert.equal(decodeURIComponent(access.url.split('#token=')[1]!), access.token);
    const portal = new Svix(access.token, { serverUrl: hookd.url });
    assert.equal((await portal.application.get(app.id)).name, 'Legacy portal');
    // Another application is not found for it (a scoped token does not learn what exists).
    await expectApiError(portal.application.get(other.id), 404, ApiException);
    await expectApiError(portal.authentication.dashboardAccess(app.id), 403, ApiException);
  }));
