/**
 * One HTTP(S) request of the API client, with node:http/https rather than fetch: fetch cannot be given
 * a CA without the undici package, and an operator's own CA (`--ca-file`) is the usual way a service
 * is served over TLS. A certificate the client does not trust is a coded error naming the fix.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { bwkError, type BulwarkError } from '../core/errors.js';

export interface HttpResponse {
  status: number;
  text: string;
}

/** What a request needs besides its URL. */
export interface HttpRequestOptions {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** OpenSSL's and Node's codes for a server certificate that does not verify (untrusted, wrong name, expired). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Reads the PEM CA bundle a client trusts (`--ca-file`, BULWARK_CA_FILE). */
export function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `cannot read the CA file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    });
  }
}

/** Keep-alive agents for one base URL; with `ca`, only that CA is trusted (as curl's --cacert), not the system's. */
export function agentsFor(ca: Buffer | undefined): { http: HttpAgent; https: HttpsAgent } {
  return { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ...(ca ? { ca } : {}) }) };
}

/** The coded error for a request that got no answer. */
export function unreachable(base: string, err: NodeJS.ErrnoException): BulwarkError {
  if (err.code && UNTRUSTED.has(err.code))
    return bwkError('BWK_ERR_TLS_UNTRUSTED', { url: base, reason: `${err.code}: ${err.message.split(';')[0]}` });
  return bwkError('BWK_ERR_SERVICE_UNAVAILABLE', { url: base, reason: err.code ? `${err.code}: ${err.message}` : err.message });
}

/** Sends one request and reads the whole answer. Rejects with Node's error when no answer came. */
export function sendRequest(url: URL, agents: ReturnType<typeof agentsFor>, opts: HttpRequestOptions): Promise<HttpResponse> {
  const secure = url.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method,
        headers: opts.headers,
        agent: secure ? agents.https : agents.http,
        signal: AbortSignal.timeout(opts.timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
