/**
 * TLS for the API (api.tls): the certificate and key are read, their pairing checked and the key's
 * permissions enforced at start-up and on every reload. A reload swaps the server's secure context:
 * new connections get the new certificate, open ones keep theirs, nothing restarts. A reload that
 * fails keeps the certificate in use. Key bytes never reach a log line or an error message.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { createSecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { homePath, type BulwarkConfig } from '../common/config.js';
import { bwkError } from '../core/errors.js';
import { errorBody } from './error-body.js';

/** The certificate chain and key files, as absolute paths. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** What the server serves, and what logs may say about it (public certificate facts only). */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's serial number (hex), SHA-256 fingerprint and expiry, for logs and notes. */
  serial: string;
  fingerprint256: string;
  validTo: string;
}

/** api.tls resolved against the home; undefined when the API serves plain http. */
export function tlsFilesOf(config: BulwarkConfig, home: string): TlsFiles | undefined {
  const { cert_file, key_file } = config.api.tls;
  return cert_file && key_file ? { cert: homePath(home, cert_file), key: homePath(home, key_file) } : undefined;
}

function readFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw bwkError('BWK_ERR_TLS_CONFIG', { reason: `cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
  }
}

/**
 * Refuses a key file that other users can read or replace (any "other" permission bit): an exposed key
 * lets anyone on the machine impersonate the service. Group access is allowed (the `ssl-cert` group habit).
 */
function checkKeyPermissions(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw bwkError('BWK_ERR_TLS_CONFIG', { reason: `cannot read key_file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  if ((mode & 0o007) !== 0) throw bwkError('BWK_ERR_TLS_KEY_EXPOSED', { path, mode: (mode & 0o777).toString(8).padStart(4, '0') });
}

/** OpenSSL's reason without its numeric prefix ("key values mismatch"). */
const opensslReason = (err: unknown): string => (err as Error).message.replace(/^error:[0-9A-F]+:/, '');

/** Reads and checks the pair: the key's permissions, that both parse, and that the key matches the certificate. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  checkKeyPermissions(files.key);
  const cert = readFile('cert_file', files.cert);
  const key = readFile('key_file', files.key);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw bwkError('BWK_ERR_TLS_CONFIG', { reason: `cert_file ${files.cert} holds no PEM certificate` });
  }
  try {
    // The message is OpenSSL's reason ("key values mismatch", "unsupported"), never the key.
    createSecureContext({ cert, key });
  } catch (err) {
    throw bwkError('BWK_ERR_TLS_CONFIG', {
      reason: `key_file ${files.key} does not load with cert_file ${files.cert}: ${opensslReason(err)}`,
    });
  }
  return { cert, key, serial: leaf.serialNumber, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo };
}

/** The server side of a reload: what `https.Server#setSecureContext` is. */
export interface SecureContextHolder {
  setSecureContext(options: { cert: Buffer; key: Buffer }): void;
}

/** Reads the files again and, when they check out, serves them to new connections; throws (keeping the old pair) otherwise. */
export function reloadTls(server: SecureContextHolder, files: TlsFiles): TlsMaterial {
  const material = readTlsMaterial(files);
  server.setSecureContext({ cert: material.cert, key: material.key });
  return material;
}

/** Hosts only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The start-up warning for an API reachable from other machines in clear text; undefined when there is none. */
export function plainHttpWarning(host: string, tls: TlsFiles | undefined): string | undefined {
  if (tls || isLoopbackHost(host)) return undefined;
  return (
    `the API listens on ${host}, beyond this machine, without TLS: tokens and data cross the network in clear text; ` +
    'set api.tls.cert_file and api.tls.key_file (docs/service.md "TLS"), or keep api.host on 127.0.0.1 behind a TLS proxy'
  );
}

/**
 * A plain-http request on the https port (OpenSSL recognises `GET `, `POST` ... as the first bytes) is
 * answered in plain http with a coded 400 saying to use https, then closed; other failed handshakes are
 * closed as Node does. The plain socket is reached through the TLS socket's `_parent` (Node's own name
 * for it); where it is missing the connection is just closed.
 */
export function answerPlainHttp(server: TlsServer): void {
  server.on('tlsClientError', (err: NodeJS.ErrnoException, tlsSocket: TLSSocket) => {
    const raw = (tlsSocket as TLSSocket & { _parent?: unknown })._parent;
    if (err.code !== 'ERR_SSL_HTTP_REQUEST' || !(raw instanceof Socket) || !raw.writable) return;
    const e = bwkError('BWK_ERR_HTTPS_REQUIRED');
    const body = JSON.stringify(errorBody(e.code, e.message));
    raw.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  });
}
