import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentDefinition, describeSegment } from './segments.js';

const t = (key) => ({ 'lifecycle.label': 'Stage', 'lifecycle.lead': 'Lead', 'segments.tiers': 'Tiers', 'segments.tags': 'Tags', 'segments.regions': 'Regions', 'owner.new': 'Owner', 'owner.nobody': 'Nobody', 'segments.every_customer': 'Every customer' })[key];

test('a segment form becomes what the hub takes, lists split on either comma', () => {
  assert.deepEqual(segmentDefinition(' 王 ', { tiers: 'vip，gold', tags: '', regions: 'cn, us', owner: '' }),
    { q: '王', tiers: ['vip', 'gold'], tags: [], regions: ['CN', 'US'], owner: { type: 'any' }, stages: [] });
  assert.deepEqual(segmentDefinition('', { stage: 'lead' }).stages, ['lead']);
  assert.deepEqual(segmentDefinition('', { owner: 'none' }).owner, { type: 'nobody' });
  assert.deepEqual(segmentDefinition('', { owner: 'a1' }).owner, { type: 'agent', agent_id: 'a1' });
});

test('a segment reads back as one line, its owner by name', () => {
  const s = { q: 'acme', tiers: ['gold'], tags: [], regions: ['US'], owner: { type: 'agent', agent_id: 'a1' } };
  assert.equal(describeSegment(s, { a1: 'Chen Jing' }, t), '“acme” · Tiers: gold · Regions: US · Owner: Chen Jing');
  assert.equal(describeSegment({ owner: { type: 'any' } }, {}, t), 'Every customer');
  assert.equal(describeSegment({ stages: ['lead'], owner: { type: 'nobody' } }, {}, t), 'Stage: Lead · Owner: Nobody');
});
