import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { topLevelObjectSlices } from '../../src/sources/json-array-slices.ts';

test('each slice is the text of one element, for any array of objects, however it is spaced', () => {
  fc.assert(
    fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 8 }), fc.constantFrom(undefined, 1, 2, '\t'), (objects, space) => {
      const text = JSON.stringify(objects, null, space);
      const slices = topLevelObjectSlices(text);
      assert.equal(slices.length, objects.length);
      for (const [i, slice] of slices.entries()) assert.deepEqual(JSON.parse(slice), JSON.parse(JSON.stringify(objects[i])));
      if (space === undefined) assert.deepEqual(slices, objects.map((o) => JSON.stringify(o)));
    }),
    { numRuns: 500 },
  );
});

test('braces, quotes and backslashes inside strings do not cut an object', () => {
  const objects = [{ a: '}{', b: '\\', c: '"}"', d: '\\"{' }, { e: ['{', { f: '\\\\"' }] }];
  assert.deepEqual(topLevelObjectSlices(JSON.stringify(objects)).map((s) => JSON.parse(s) as unknown), objects);
});

test('elements that are not objects give a different count (the caller then does not use the slices)', () => {
  assert.equal(topLevelObjectSlices('[1, "x", {"a":1}, null]').length, 1);
  assert.equal(topLevelObjectSlices('[]').length, 0);
  assert.equal(topLevelObjectSlices('[{"a":"unterminated').length, 0);
});
