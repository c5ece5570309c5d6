// The HTTP API as the console uses it: errors as exceptions that carry the server's own message
// (it says what was wrong and what to do).
//
// The operator's token is never kept by this page. Signing in posts it once to /v1/session,
// which answers with an HttpOnly cookie that holds it: the browser sends the cookie with every
// request to this server, and no script (ours, or one injected into the page) can read it.
// Requests that change something also carry the session's CSRF token, which only a page of this
// origin can read (from GET /v1/session); see docs/console.md.

let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function call(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "same-origin",
  });
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.slice(0, 200) }; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Who the session cookie signs in ({name, role}), or null when there is no session. */
export async function currentSession() {
  try {
    const session = await call("/v1/session");
    csrf = session.csrf;
    return { name: session.name, role: session.role };
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

/** Open a session with a token: {name, role}, or an error that says what is wrong. */
export async function signIn(token) {
  try {
    await call("/v1/session", { method: "POST", body: { token } });
  } catch (err) {
    if (err.status === 401) throw new Error("Unknown or revoked token.");
    if (err.status === 403 && /may not operate/.test(err.message)) {
      throw new Error("This token may not operate the console: it needs the operator or admin role.");
    }
    throw new Error(`The server did not answer as expected (${err.message}).`);
  }
  // the cookie is Secure: a browser keeps it only over HTTPS (or on this machine)
  const session = await currentSession();
  if (!session) {
    throw new Error("Signed in, but this browser did not keep the session cookie: open the console over HTTPS.");
  }
  return session;
}

export async function signOut() {
  try { await call("/v1/session", { method: "DELETE" }); } finally { csrf = null; }
}
