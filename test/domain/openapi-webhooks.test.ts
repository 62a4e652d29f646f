import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenApiImportError, eventTypesFromOpenApi } from '../../src/domain/openapi-webhooks.js';

const invoice = {
  type: 'object',
  properties: { id: { type: 'string' }, customer: { $ref: '#/components/schemas/Customer' } },
  required: ['id'],
};

test('each webhook of an OpenAPI 3.1 document is an event type: description, deprecation, and its JSON body schema with local $refs inlined and its example', () => {
  const spec = {
    openapi: '3.1.0',
    webhooks: {
      'invoice.paid': {
        post: {
          summary: 'Paid',
          description: 'An invoice was paid',
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Invoice' }, example: { id: 'inv_1' } } } },
        },
      },
      'invoice.voided': { post: { summary: 'Voided', deprecated: true, requestBody: { $ref: '#/components/requestBodies/Voided' } } },
      'user.pinged': { put: {} },
    },
    components: {
      schemas: { Invoice: invoice, Customer: { type: 'object', properties: { name: { type: 'string' } } } },
      requestBodies: { Voided: { content: { 'application/cloudevents+json': { schema: { type: 'object', examples: [{ a: 1 }] } } } } },
    },
  };
  assert.deepEqual(eventTypesFromOpenApi(spec), [
    {
      name: 'invoice.paid',
      description: 'An invoice was paid',
      deprecated: false,
      schemas: {
        '1': {
          type: 'object',
          properties: { id: { type: 'string' }, customer: { type: 'object', properties: { name: { type: 'string' } } } },
          required: ['id'],
          examples: [{ id: 'inv_1' }],
        },
      },
    },
    { name: 'invoice.voided', description: 'Voided', deprecated: true, schemas: { '1': { type: 'object', examples: [{ a: 1 }] } } },
    { name: 'user.pinged', description: '', deprecated: false, schemas: null },
  ]);
});

test('x-webhooks (OpenAPI 3.0) too; a recursive schema is inlined once, the recursion left as {}; named examples give their first value', () => {
  const spec = {
    'x-webhooks': {
      'tree.grown': {
        post: {
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' }, examples: { one: { value: { n: 1 } }, two: { value: { n: 2 } } } } } },
        },
      },
    },
    components: { schemas: { Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } } } },
  };
  const [grown] = eventTypesFromOpenApi(spec);
  const schema = grown!.schemas!['1'] as { examples: unknown[]; properties: { child: unknown } };
  assert.deepEqual(schema.examples, [{ n: 1 }]);
  assert.deepEqual(schema.properties.child, {}, 'Node inside Node: {}');
});

test('a schema referring to itself twice (a tree) is inlined in linear time; one that would expand beyond the bound is refused', () => {
  const tree = {
    webhooks: { 'tree.changed': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } } } },
    components: { schemas: { Node: { type: 'object', properties: { left: { $ref: '#/components/schemas/Node' }, right: { $ref: '#/components/schemas/Node' } } } } },
  };
  const started = performance.now();
  const [changed] = eventTypesFromOpenApi(tree);
  assert.ok(performance.now() - started < 1_000);
  assert.deepEqual((changed!.schemas!['1'] as any).properties, { left: {}, right: {} });
  // Thirty levels, each naming the next twice: 2^30 copies if expanded.
  const schemas: Record<string, unknown> = { L30: { type: 'string' } };
  for (let i = 0; i < 30; i++) schemas[`L${i}`] = { type: 'object', properties: { a: { $ref: `#/components/schemas/L${i + 1}` }, b: { $ref: `#/components/schemas/L${i + 1}` } } };
  const wide = { webhooks: { 'wide.event': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/L0' } } } } } } }, components: { schemas } };
  assert.throws(() => eventTypesFromOpenApi(wide), (error: unknown) => error instanceof OpenApiImportError && /more than 100000/.test(error.message) && JSON.stringify(error.loc) === '["webhooks","wide.event"]');
});

test('a document hookd cannot import is refused where the fault is', () => {
  const refused = (spec: unknown, loc: (string | number)[], message: RegExp) =>
    assert.throws(() => eventTypesFromOpenApi(spec), (error: unknown) => error instanceof OpenApiImportError && message.test(error.message) && JSON.stringify(error.loc) === JSON.stringify(loc));
  refused('openapi: 3.1.0', [], /must be an object/);
  refused({ openapi: '3.1.0', paths: {} }, [], /no webhooks/);
  refused({ webhooks: { 'bad name!': { post: {} } } }, ['webhooks', 'bad name!'], /not an event type name/);
  refused({ webhooks: { 'a.b': { summary: 'no operation' } } }, ['webhooks', 'a.b'], /no operation/);
  refused({ webhooks: { 'a.b': { post: { requestBody: { $ref: '#/components/requestBodies/Missing' } } } } }, ['webhooks', 'a.b'], /Missing is not in the document/);
  refused({ webhooks: { 'a.b': { post: { requestBody: { $ref: '#/constructor' } } } } }, ['webhooks', 'a.b'], /#\/constructor is not in the document/);
  refused({ webhooks: { 'a.b': { post: { description: 'x'.repeat(4097) } } } }, ['webhooks', 'a.b', 'post'], /longer than 4096/);
});
