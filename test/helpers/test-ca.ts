/**
 * A throwaway certificate authority made at test time with the `openssl` command line, in a temp dir:
 * no key is ever committed. Server certificates name 127.0.0.1, ::1 and localhost.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './paths.js';

export interface IssuedCert {
  certFile: string;
  keyFile: string;
}

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM) clients trust. */
  caFile: string;
  /** A server certificate and its key (mode 0600) signed by this CA, with the given hex serial. */
  issue(name: string, serialHex: string): IssuedCert;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status}): ${r.stderr}`);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new CA named `label`; `issue` signs server certificates with it. */
export function makeTestCa(label = 'Bulwark test CA'): TestCa {
  const tmp = tempDir('ca');
  const dir = tmp.path;
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      `/CN=${label}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    issue(name, serialHex) {
      const ext = join(dir, `${name}.ext`);
      writeFileSync(
        ext,
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
          'extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n',
      );
      openssl(['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir);
      openssl(
        ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${serialHex}`, '-days', '2'].concat([
          '-out',
          `${name}.pem`,
          '-extfile',
          ext,
        ]),
        dir,
      );
      const keyFile = join(dir, `${name}.key`);
      chmodSync(keyFile, 0o600);
      return { certFile: join(dir, `${name}.pem`), keyFile };
    },
    cleanup: tmp.cleanup,
  };
}
