// Skills as an admin types them: "support:5, sales:3" (a bare name means level 1), and a queue's
// priority by customer tier the same way: "vip:10, gold:5". Pure.

function named(text) {
  return String(text || '')
    .split(/[,，]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.split(/[:：]/).map((x) => x.trim()));
}

function pairs(text) {
  return named(text)
    .map(([name, level]) => {
      const n = Math.max(1, Math.min(10, parseInt(level, 10) || 1));
      return [name.toLowerCase(), n];
    })
    .filter(([name]) => name);
}

/** "support:5, sales" → {support: 5, sales: 1} */
export function parseSkills(text) {
  return Object.fromEntries(pairs(text));
}

/** {support: 5} → "support:5" */
export function formatSkills(skills) {
  return Object.entries(skills || {}).map(([k, v]) => `${k}:${v}`).join(', ');
}

/** "support:2" → [{skill: "support", min_level: 2}] */
export function parseSkillRequirements(text) {
  return pairs(text).map(([skill, min_level]) => ({ skill, min_level }));
}

export function formatSkillRequirements(list) {
  return (list || []).map((r) => `${r.skill}:${r.min_level}`).join(', ');
}

/** "VIP:10, gold:5" → {vip: 10, gold: 5}; a tier without a whole number is left out. */
export function parseTierPriority(text) {
  return Object.fromEntries(
    named(text)
      .filter(([name, n]) => name && /^[+-]?\d+$/.test(n || ''))
      .map(([name, n]) => [name.toLowerCase(), parseInt(n, 10)]),
  );
}

/** {vip: 10} → "vip:10" */
export function formatTierPriority(map) {
  return Object.entries(map || {}).map(([k, v]) => `${k}:${v}`).join(', ');
}
