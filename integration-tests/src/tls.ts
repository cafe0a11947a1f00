// A throwaway certificate authority for tests, made with the openssl command-line tool
// (Node's crypto module can make keys but not X.509 certificates).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files of one certificate and its private key. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A test CA and the files of the certificates it signed. */
export interface TestAuthority extends CertificateFiles {
  /** Signs a certificate for `127.0.0.1` and `localhost`, for a server or a client. */
  issue(name: string, usage: 'serverAuth' | 'clientAuth'): CertificateFiles;
}

/** Returns true when the openssl command can be run. */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed (status ${result.status}): ${result.stderr}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates a CA with a P-256 key, valid for one day, in `dir/<name>`. */
export function createTestAuthority(dir: string, name: string): TestAuthority {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const ca: CertificateFiles = {
    certFile: join(home, 'ca.pem'),
    keyFile: join(home, 'ca-key.pem'),
  };
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      ca.keyFile,
      '-out',
      ca.certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    home
  );
  const issue = (leaf: string, usage: 'serverAuth' | 'clientAuth'): CertificateFiles => {
    const files: CertificateFiles = {
      certFile: join(home, `${leaf}.pem`),
      keyFile: join(home, `${leaf}-key.pem`),
    };
    const request = join(home, `${leaf}.csr`);
    const extensions = join(home, `${leaf}.ext`);
    writeFileSync(
      extensions,
      `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\nkeyUsage=critical,digitalSignature\n`
    );
    openssl(
      ['req', ...EC_KEY, '-keyout', files.keyFile, '-out', request, '-subj', `/CN=${leaf}`],
      home
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        request,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-CAcreateserial',
        '-out',
        files.certFile,
        '-days',
        '1',
        '-extfile',
        extensions,
      ],
      home
    );
    return files;
  };
  return { ...ca, issue };
}
