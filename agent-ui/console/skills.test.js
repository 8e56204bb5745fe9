import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSkills, formatSkills, parseSkillRequirements, formatSkillRequirements } from './skills.js';

test('skills round-trip as an admin types them', () => {
  assert.deepEqual(parseSkills('Support:5, sales ,， billing:99'), { support: 5, sales: 1, billing: 10 });
  assert.equal(formatSkills({ support: 5, sales: 3 }), 'support:5, sales:3');
  assert.deepEqual(parseSkillRequirements('support:2'), [{ skill: 'support', min_level: 2 }]);
  assert.equal(formatSkillRequirements([{ skill: 'support', min_level: 2 }]), 'support:2');
  assert.deepEqual(parseSkills(''), {});
});
