// The HTTP API as the console uses it: the operator's bearer token on every call, errors as
// exceptions that carry the server's own message (it says what was wrong and what to do).

const TOKEN_KEY = "airwarn.console.token";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function call(path, { method = "GET", body, token = savedToken() } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.slice(0, 200) }; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Who a token belongs to, as far as the console cares: "admin", "operator", or an error. */
export async function roleOf(token) {
  try {
    await call("/v1/threats", { token });
  } catch (err) {
    if (err.status === 401) throw new Error("Unknown or revoked token.");
    if (err.status === 403) {
      throw new Error("This token may not operate the console: it needs the operator or admin role.");
    }
    throw new Error(`The server did not answer as expected (${err.message}).`);
  }
  try {
    await call("/v1/audit?limit=1", { token });
    return "admin";
  } catch {
    return "operator";
  }
}
