// Files attached to a mail being written, from the file picker to the hub's upload id. Pure: each
// function takes the list and returns a new one, so the reply drafts (state.js) and the new-email
// form keep them the same way, and node --test runs this as it is.
//
// An entry: { key, name, size, type, status, loaded, upload_id, error }
//   status "uploading" (loaded: bytes sent so far), "done" (upload_id set) or "failed"
//   (error: { code, message } as the hub or the network said).

/** The files picked (`[{key, name, size, type}]`) added at the end, each uploading. */
export function addFiles(list, files) {
  const known = new Set((list || []).map((a) => a.key));
  const added = (files || [])
    .filter((f) => f && f.key && !known.has(f.key))
    .map((f) => ({ key: f.key, name: f.name, size: Number(f.size) || 0, type: f.type || '', status: 'uploading', loaded: 0, upload_id: null, error: null }));
  return [...(list || []), ...added];
}

function update(list, key, f) {
  return (list || []).map((a) => (a.key === key ? f(a) : a));
}

/** `loaded` bytes of the file are sent (never more than its size, never backwards). */
export function progress(list, key, loaded) {
  return update(list, key, (a) => (a.status === 'uploading' ? { ...a, loaded: Math.min(a.size, Math.max(a.loaded, Number(loaded) || 0)) } : a));
}

/** The hub kept the file: `upload` is its answer (`{id, filename, size}`). */
export function uploaded(list, key, upload) {
  return update(list, key, (a) => ({ ...a, status: 'done', loaded: a.size, upload_id: upload.id, name: upload.filename || a.name, error: null }));
}

/** The upload failed: `error` is `{code, message}`. */
export function failed(list, key, error) {
  return update(list, key, (a) => ({ ...a, status: 'failed', error: { code: (error && error.code) || 'internal', message: (error && error.message) || null } }));
}

export function removeFile(list, key) {
  return (list || []).filter((a) => a.key !== key);
}

/** Whether the mail must wait: a file still uploading, or one that failed and is still listed. */
export function blocking(list) {
  return (list || []).some((a) => a.status !== 'done');
}

/** The upload ids a mail names, in the order the files were picked. */
export function uploadIds(list) {
  return (list || []).filter((a) => a.status === 'done' && a.upload_id).map((a) => a.upload_id);
}

/** How far an upload is, 0 to 100. */
export function percent(entry) {
  if (!entry) return 0;
  if (entry.status === 'done') return 100;
  if (!entry.size) return 0;
  return Math.floor((100 * entry.loaded) / entry.size);
}
