/**
 * `{code, message}`, preceded by the same pair under `error`: OpenStack clients (Karbor's
 * python-karborclient) read the message from the body's first value, which must be an object.
 */
export const errorBody = (code: string, message: string) => ({ error: { code, message }, code, message });
