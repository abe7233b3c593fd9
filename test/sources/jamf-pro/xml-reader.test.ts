import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childText, readXml, xmlText } from '../../../src/sources/jamf-pro/xml-reader.ts';

test('reads the Classic API shapes: declaration, nested lists, entities, CDATA, empty elements, attributes ignored', () => {
  const root = readXml('\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<webhooks><size>2</size><webhook><id>1</id><name>A &amp; B &#233;&#x41;</name></webhook><!-- c --><webhook a="1"><id>2</id><name><![CDATA[<raw>]]></name><url/></webhook></webhooks>');
  assert.equal(root.name, 'webhooks');
  assert.equal(childText(root, 'size'), '2');
  const hooks = root.children.filter((c) => c.name === 'webhook');
  assert.deepEqual(hooks.map((h) => childText(h, 'name')), ['A & B éA', '<raw>']);
  assert.equal(childText(hooks[1]!, 'url'), '');
  assert.equal(childText(hooks[1]!, 'nope'), undefined);
});

test('refuses what is not well formed, and any DOCTYPE', () => {
  for (const bad of ['<a><b></a>', '<a>', '<a>x</a><b/>', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', '<a>&unknown;</a>', '<a>1 & 2</a>', '<html><body>Conflict</body>', '']) {
    assert.throws(() => readXml(bad), SyntaxError, bad);
  }
  assert.equal(xmlText('a<b>&"'), 'a&lt;b&gt;&amp;"');
});
