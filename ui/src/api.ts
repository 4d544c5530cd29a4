// The gateway's API as the page uses it. Reads are GETs; decisions are POSTs through the same
// authenticated decision API as the CLI: with OIDC on, the ID token the user signed in with goes as
// a bearer token (kept in this tab's sessionStorage only); in development mode the user's name goes
// as `by` and the release records the decision as unauthenticated.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export interface Session {
  mode: 'development' | 'production';
  /** The gateway verifies bearer ID tokens. */
  tokens: boolean;
  identity?: string;
  groups?: string[];
}

const TOKEN_KEY = 'shipyard.idToken';
const NAME_KEY = 'shipyard.name';

export const credentials = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  setToken: (t: string | null) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY)),
  name: (): string | null => localStorage.getItem(NAME_KEY),
  setName: (n: string | null) => (n ? localStorage.setItem(NAME_KEY, n) : localStorage.removeItem(NAME_KEY)),
};

async function call<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = credentials.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'gateway unreachable', (err as Error).message);
  }
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, `HTTP ${res.status}`, text.slice(0, 200));
  }
  if (!res.ok) throw new ApiError(res.status, json.error ?? `HTTP ${res.status}`, json.detail);
  return json as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/** A decision: in development mode it carries the name the user gave (`by`). */
export function decide<T>(path: string, body: Record<string, unknown>): Promise<T> {
  const name = credentials.name();
  return call<T>('POST', path, credentials.token() || !name ? body : { ...body, by: name });
}

export const enc = (id: string) => encodeURIComponent(id);
