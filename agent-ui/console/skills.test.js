import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSkills, formatSkills, parseSkillRequirements, formatSkillRequirements, parseTierPriority, formatTierPriority } from './skills.js';

test('skills round-trip as an admin types them', () => {
  assert.deepEqual(parseSkills('Support:5, sales ,， billing:99'), { support: 5, sales: 1, billing: 10 });
  assert.equal(formatSkills({ support: 5, sales: 3 }), 'support:5, sales:3');
  assert.deepEqual(parseSkillRequirements('support:2'), [{ skill: 'support', min_level: 2 }]);
  assert.equal(formatSkillRequirements([{ skill: 'support', min_level: 2 }]), 'support:2');
  assert.deepEqual(parseSkills(''), {});
});

test('tier priorities as an admin types them, a Chinese colon too; a tier without a number is dropped', () => {
  assert.deepEqual(parseTierPriority('VIP:10, gold：5, silver, bronze:x, basic:-2'), { vip: 10, gold: 5, basic: -2 });
  assert.equal(formatTierPriority({ vip: 10, gold: 5 }), 'vip:10, gold:5');
  assert.deepEqual(parseTierPriority(''), {});
  assert.deepEqual(parseSkills('support：3'), { support: 3 });
});
