/** Sign-in: an API token, checked against /v1/identity and kept for this tab's session only. */
import { useState } from 'preact/hooks';
import { signIn, type Identity } from '../api.js';
import { ErrorBox, Field } from '../ui.js';

export function SignIn({ onSignedIn, reason }: { onSignedIn: (token: string, who: Identity) => void; reason?: Error | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error | undefined>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await signIn(token.trim());
      onSignedIn(token.trim(), who);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Bulwark console</h1>
      <form class="stack" onSubmit={submit}>
        <Field label="API token" hint="Made with `bulwark token create`. Kept in this browser tab only, until you sign out or close it.">
          {(id, hint) => (
            <input
              id={id}
              type="password"
              autocomplete="off"
              required
              aria-describedby={hint}
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          )}
        </Field>
        <div>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}
