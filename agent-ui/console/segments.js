// Segments as a supervisor types them and reads them back. Pure.

const list = (text) => String(text || '').split(/[,，]/).map((s) => s.trim()).filter(Boolean);

/** The form's words into what POST /segments takes: `q` from the search box, the rest typed. */
export function segmentDefinition(q, form) {
  const owner = form.owner === '' ? { type: 'any' } : form.owner === 'none' ? { type: 'nobody' } : { type: 'agent', agent_id: form.owner };
  return {
    q: String(q || '').trim(),
    tiers: list(form.tiers),
    tags: list(form.tags),
    regions: list(form.regions).map((r) => r.toUpperCase()),
    owner,
    stages: form.stage ? [form.stage] : [],
  };
}

/** One line saying what a segment holds, its owner by name from `names` (id → name). */
export function describeSegment(s, names, t) {
  const parts = [];
  if (s.q) parts.push(`“${s.q}”`);
  if (s.tiers?.length) parts.push(`${t('segments.tiers')}: ${s.tiers.join(', ')}`);
  if (s.tags?.length) parts.push(`${t('segments.tags')}: ${s.tags.join(', ')}`);
  if (s.regions?.length) parts.push(`${t('segments.regions')}: ${s.regions.join(', ')}`);
  if (s.stages?.length) parts.push(`${t('lifecycle.label')}: ${s.stages.map((k) => t(`lifecycle.${k}`)).join(', ')}`);
  if (s.owner?.type === 'nobody') parts.push(`${t('owner.new')}: ${t('owner.nobody')}`);
  if (s.owner?.type === 'agent') parts.push(`${t('owner.new')}: ${names[s.owner.agent_id] || '?'}`);
  return parts.length ? parts.join(' · ') : t('segments.every_customer');
}
