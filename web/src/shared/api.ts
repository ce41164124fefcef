// Talking to the riskmap API: the session token, JSON requests, clear errors, and a page-wide
// "cannot reach the server" state instead of an empty map.

const TOKEN_KEY = "riskmap.token";
const USER_KEY = "riskmap.user";

export interface User {
  name: string;
  role: string;
  display_name: string | null;
  permissions: string[];
}

/** GET /api/me: the user behind the token, with the area it answers for. */
export interface Me extends User {
  /** GB/T 2260 code of the area of responsibility (a city or a county); null = everything */
  area: string | null;
  /** e.g. 麻阳苗族自治县 (431226); null with no area */
  area_name: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly path: string,
  ) {
    super(`${status} ${path}: ${detail}`);
  }
}

/** A token handed over in the URL fragment (kiosk links: `/wall#token=rm_…`) is taken once
 * into this tab's storage and removed from the address bar; fragments never reach the server. */
function adoptFragmentToken(): void {
  const m = /(?:^#|&)token=(rm_[A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(null, "", location.pathname + location.search);
  }
}
adoptFragmentToken();

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

export function getUser(): User | null {
  const raw = localStorage.getItem(USER_KEY) ?? sessionStorage.getItem(USER_KEY);
  if (!raw || !getToken()) return null;
  try {
    return JSON.parse(raw) as User;
  } catch {
    return null;
  }
}

export function may(permission: string): boolean {
  return getUser()?.permissions.includes(permission) ?? false;
}

export function setSession(token: string, user: User): void {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(user));
}

let asked: { token: string; me: Promise<Me> } | null = null;

/** Who the token is (GET /api/me), asked once per token and page. */
export function whoAmI(): Promise<Me> {
  const token = getToken();
  if (!token) return Promise.reject(new ApiError(401, "not signed in", "/api/me"));
  if (asked?.token !== token) {
    const me = api<Me>("/api/me");
    asked = { token, me };
    me.catch(() => {
      if (asked?.me === me) asked = null; // ask again next time
    });
  }
  return asked.me;
}

export function clearSession(): void {
  for (const store of [localStorage, sessionStorage]) {
    store.removeItem(TOKEN_KEY);
    store.removeItem(USER_KEY);
  }
}

type Reachability = (reachable: boolean, message?: string) => void;
const listeners: Reachability[] = [];
let reachable = true;

export function onReachability(fn: Reachability): void {
  listeners.push(fn);
}

function setReachable(ok: boolean, message?: string): void {
  if (ok === reachable && ok) return;
  reachable = ok;
  for (const fn of listeners) fn(ok, message);
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** send the session token (default true) */
  auth?: boolean;
}

/** JSON from the API; throws ApiError with the API's own `detail` on an error status. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.auth !== false) Object.assign(headers, authHeaders());
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? "GET", headers, body, signal: options.signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    setReachable(false, String(err));
    throw new ApiError(0, "无法连接服务器 Cannot reach the server", path);
  }
  setReachable(response.status < 502 || response.status > 504);
  if (response.status === 401 && getToken()) {
    // the session ended (expired or revoked): forget it, the page offers sign-in again
    clearSession();
    window.dispatchEvent(new CustomEvent("riskmap:signed-out"));
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? data);
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, detail, path);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Absolute URL of an API path (MapLibre wants absolute source URLs). */
export function absolute(path: string): string {
  return new URL(path, location.origin).toString();
}

/** Tile and TileJSON URLs carry the token as `?token=` (map clients cannot send headers). */
export function withToken(path: string): string {
  const token = getToken();
  if (!token) return absolute(path);
  const url = new URL(path, location.origin);
  url.searchParams.set("token", token);
  return url.toString();
}
