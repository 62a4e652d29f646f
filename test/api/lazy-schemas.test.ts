import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lazySchemasOf } from '../../src/api/lazy-schemas.js';
import { startTestHookd, type TestHookd } from '../helpers/hookd.js';

/** Route validators and serializers compile on their route's first request (api/lazy-schemas.ts). */
describe('route schemas compiled when first used', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  before(async () => {
    hookd = await startTestHookd();
  });
  after(async () => hookd.cleanup());

  test("a route's first request is validated, coerced and serialized as every later one", async () => {
    const schemas = lazySchemasOf(hookd.app!)!;
    const before = schemas.notCompiled;
    assert.ok(before > 100, `most schemas wait for their route (${before} not compiled)`);
    // The first request of this route fails validation: the error comes from the validator compiled for it.
    const bad = await hookd.api.post('/api/v1/app', { name: 1 });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      bad.body.detail.map((issue: { loc: string[] }) => issue.loc),
      [['body', 'name']],
    );
    const created = await hookd.api.post('/api/v1/app', { name: 'lazy', uid: 'lazy-app' });
    assert.equal(created.status, 201);
    assert.equal(created.body.uid, 'lazy-app');
    // The first list request: a querystring coerced ("1" -> 1), a response serialized by its schema.
    const listed = await hookd.api.get('/api/v1/app?limit=1');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.data.length, 1);
    assert.equal(typeof listed.body.done, 'boolean');
    const tooMany = await hookd.api.get('/api/v1/app/lazy-app/msg?limit=x');
    assert.equal(tooMany.status, 422);
    assert.ok(schemas.notCompiled < before, 'the routes used compiled theirs');
  });

  test('every route schema compiles', () => {
    const schemas = lazySchemasOf(hookd.app!)!;
    schemas.compileAll();
    assert.equal(schemas.notCompiled, 0);
  });
});
