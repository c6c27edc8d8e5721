// The login page: the users and sessions of `/api/v1/auth`.

import { useState } from "preact/hooks";
import { ApiError, getJson, Principal, sendJson } from "../api";
import { useTheme } from "../layout";
import { navigate } from "../nav";
import { safeNext } from "../url";

export function Login({ params, onLogin }: { params: URLSearchParams; onLogin: (p: Principal) => void }) {
  useTheme();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await sendJson("POST", "/api/v1/auth/login", { username, password });
      const me = await getJson<Principal>("/api/v1/auth/whoami");
      onLogin(me);
      navigate(safeNext(params.get("next")), true);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit}>
        <h1>Sightline</h1>
        <p class="muted">Sign in to see what your systems are doing.</p>
        <label>
          User name
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted small">
          The first start prints the <code>admin</code> password once; <code>sightline user add NAME</code> adds people.
        </p>
      </form>
    </main>
  );
}
