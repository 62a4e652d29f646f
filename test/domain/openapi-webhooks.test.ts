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

test('x-webhooks (OpenAPI 3.0) too; a recursive schema stops inlining at a depth; named examples give their first value', () => {
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
  let depth = 0;
  for (let node: any = schema; node?.properties?.child; node = node.properties.child) depth++;
  assert.equal(depth, 32, 'inlined 32 levels, then {}');
});

test('a document hookd cannot import is refused where the fault is', () => {
  const refused = (spec: unknown, loc: (string | number)[], message: RegExp) =>
    assert.throws(() => eventTypesFromOpenApi(spec), (error: unknown) => error instanceof OpenApiImportError && message.test(error.message) && JSON.stringify(error.loc) === JSON.stringify(loc));
  refused('openapi: 3.1.0', [], /must be an object/);
  refused({ openapi: '3.1.0', paths: {} }, [], /no webhooks/);
  refused({ webhooks: { 'bad name!': { post: {} } } }, ['webhooks', 'bad name!'], /not an event type name/);
  refused({ webhooks: { 'a.b': { summary: 'no operation' } } }, ['webhooks', 'a.b'], /no operation/);
  refused({ webhooks: { 'a.b': { post: { requestBody: { $ref: '#/components/requestBodies/Missing' } } } } }, [], /Missing is not in the document/);
});
