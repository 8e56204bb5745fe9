// Who wrote what, as the console shows it: each agent message and note names its author from the
// account's list of agents (`GET /agents/names`), the logged-in agent's own as "you". Pure, so
// node --test runs it as it is; components/People.js hands the list down.

/** The list from the hub as a map by id. */
export function byId(list) {
  const names = {};
  (list || []).forEach((a) => { if (a && a.id) names[a.id] = a; });
  return names;
}

/** The agent with this id as colleagues see them: `{ name, avatar, me }`, `null` when unknown
 * (a colleague added since the list was loaded). */
export function agentOf(id, { me, names }) {
  if (!id) return null;
  if (me && me.id === id) return { name: me.name, avatar: (names[id] && names[id].avatar) || null, me: true };
  const a = names && names[id];
  return a ? { name: a.name, avatar: a.avatar || null, me: false } : null;
}

/** The ids on `items` (messages, notes) no one in `names` answers to: the list is stale. */
export function unknownIds(items, { me, names }) {
  const missing = new Set();
  (items || []).forEach((i) => {
    const id = i && i.agent_id;
    if (id && !(me && me.id === id) && !(names && names[id])) missing.add(id);
  });
  return [...missing];
}

/** A picture the console may show: the hub's own path, nothing else. */
export function avatarSrc(author) {
  const src = author && author.avatar;
  return typeof src === 'string' && src.startsWith('/avatars/') ? src : null;
}

/** The side a picture is scaled to before it is sent (the hub keeps at most 64 KiB). */
export const AVATAR_SIDE = 128;

/** The square to cut from a `width`×`height` picture: its middle, as large as it fits. */
export function centreSquare(width, height) {
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}
