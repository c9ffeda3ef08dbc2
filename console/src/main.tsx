/** Entry point: the sign-in form until a token is accepted, then the console of its project. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Api, forgetToken, setUnauthorizedHandler, signIn, storedToken, type ApiError, type Identity } from './api.js';
import { SignedIn } from './app.js';
import { SignIn } from './pages/signin.js';
import { Loading } from './ui.js';

function Console() {
  const [api, setApi] = useState<Api>();
  const [checking, setChecking] = useState(storedToken() !== null);
  const [reason, setReason] = useState<Error>();
  const signOut = (why?: Error) => {
    forgetToken();
    setReason(why);
    setApi(undefined);
  };
  useEffect(() => {
    setUnauthorizedHandler((e: ApiError) => signOut(e));
    // A reload of the tab keeps the session: the stored token is checked again.
    const token = storedToken();
    if (token === null) return;
    signIn(token)
      .then((who) => setApi(new Api(token, who)))
      .catch((e: Error) => signOut(e))
      .finally(() => setChecking(false));
  }, []);
  if (checking && !api) return <Loading what="the session" />;
  if (!api) return <SignIn reason={reason} onSignedIn={(token: string, who: Identity) => setApi(new Api(token, who))} />;
  return <SignedIn api={api} onSignOut={() => signOut()} />;
}

render(<Console />, document.getElementById('app')!);
