// One hook for the admin forms: the values, and props that bind an input or a select to one of
// them by its path ("imap.host"), so a form does not repeat its own onInput for every field.
import { useState } from 'preact/hooks';

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? o : o[k]), obj);
}

/** A copy of `obj` with the value at `path` replaced; the objects along the path are copied. */
export function setPath(obj, path, value) {
  const [key, ...rest] = path.split('.');
  return { ...obj, [key]: rest.length ? setPath(obj[key] || {}, rest.join('.'), value) : value };
}

export function useForm(initial) {
  const [form, setForm] = useState(initial);
  const set = (path, value) => setForm((f) => setPath(f, path, value));
  return {
    form,
    set,
    reset: setForm,
    /** Props for an <input> or <textarea>. */
    field: (path) => ({ value: getPath(form, path) ?? '', onInput: (e) => set(path, e.currentTarget.value) }),
    /** Props for a <select>. */
    pick: (path) => ({ value: getPath(form, path) ?? '', onChange: (e) => set(path, e.currentTarget.value) }),
  };
}
