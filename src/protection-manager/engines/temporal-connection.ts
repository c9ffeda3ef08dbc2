import { readFileSync } from 'node:fs';
import type { TemporalConfig } from '../../common/config.js';
import { homePath } from '../../common/config.js';

/** TLS options for both the client Connection and the worker NativeConnection, from bulwark.yaml. */
export function temporalTls(config: TemporalConfig, home: string) {
  const t = config.tls;
  if (!t.enabled) return undefined;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(homePath(home, p)));
  const cert = read(t.client_cert_file);
  const key = read(t.client_key_file);
  const ca = read(t.server_root_ca_file);
  return {
    ...(t.server_name ? { serverNameOverride: t.server_name } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
  };
}
