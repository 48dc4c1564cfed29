// Talking to the admin API: JSON over fetch, the token (if any) sent as a bearer.
const TOKEN_KEY = 'dispatch-admin-token';

/** The dashboard's root: this file is served from <root>/assets/. */
export const base = new URL('../', import.meta.url);

// A ?token= in the address is taken once, kept for this tab, and taken out of the address bar.
const query = new URLSearchParams(location.search);
if (query.has('token')) {
  sessionStorage.setItem(TOKEN_KEY, query.get('token'));
  query.delete('token');
  const rest = query.toString();
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = 'Bearer ' + token;
  // Changes go as JSON, body or not: the server refuses a change a form on another site could send.
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const response = await fetch(new URL('api/' + path, base), { method, headers, body: method === 'GET' ? undefined : JSON.stringify(body ?? {}) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.message ?? response.statusText, data?.error?.field);
  return data;
}

export const post = (path, body) => api(path, { method: 'POST', body });

/** The event stream, of one job when given; EventSource sends no headers, so the token goes in the query. */
export function events(jobId) {
  const url = new URL('api/events', base);
  if (jobId) url.searchParams.set('job', jobId);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) url.searchParams.set('token', token);
  return new EventSource(url);
}

let info = null;
/** What the server says of itself (read-only or not), asked once. */
export function serverInfo() {
  info ??= api('info').catch((error) => {
    info = null;
    throw error;
  });
  return info;
}
