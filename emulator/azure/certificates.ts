/**
 * The emulator's TLS material: a CA that clients trust explicitly, and a server
 * certificate for `localhost` / `127.0.0.1` signed by it. The CA is kept in the
 * data directory so that clients configured with its path keep trusting a
 * restarted emulator; the server certificate is cheap and is issued at every start.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface EmulatorCertificates {
  caCertPath: string;
  caCertPem: string;
  serverKeyPem: string;
  serverCertPem: string;
}

const CA_CERT_FILE = 'ca.pem';
const CA_KEY_FILE = 'ca-key.pem';
const CA_VALIDITY_IN_DAYS = 3650;
const SERVER_VALIDITY_IN_DAYS = 365;
const DAY_IN_MS = 86_400_000;

export async function loadOrCreateCertificates(directory: string): Promise<EmulatorCertificates> {
  const caCertPath = join(directory, CA_CERT_FILE);
  const caKeyPath = join(directory, CA_KEY_FILE);
  let ca: { cert: string; key: string };
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    ca = { cert: readFileSync(caCertPath, 'utf8'), key: readFileSync(caKeyPath, 'utf8') };
    assertUsableCa(ca.cert, caCertPath);
  } else {
    ca = await createCa();
    // The key first: a CA file without its key would be regenerated, breaking trust silently.
    writeFileSync(caKeyPath, ca.key, { mode: 0o600 });
    writeFileSync(caCertPath, ca.cert);
  }
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    // Back-dated a day: a client whose clock is slightly behind must not see "not yet valid".
    notBeforeDate: new Date(Date.now() - DAY_IN_MS),
    notAfterDate: new Date(Date.now() + SERVER_VALIDITY_IN_DAYS * DAY_IN_MS),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { caCertPath, caCertPem: ca.cert, serverKeyPem: server.private, serverCertPem: server.cert };
}

async function createCa(): Promise<{ cert: string; key: string }> {
  const ca = await generate([{ name: 'commonName', value: 'Cosmos Key Rotation local Azure emulator CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY_IN_MS),
    notAfterDate: new Date(Date.now() + CA_VALIDITY_IN_DAYS * DAY_IN_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

function assertUsableCa(pem: string, path: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw new Error(`the emulator CA certificate ${path} cannot be read: ${(error as Error).message}`);
  }
  if (Date.parse(certificate.validTo) <= Date.now()) {
    throw new Error(`the emulator CA certificate ${path} expired on ${certificate.validTo}; delete it and ca-key.pem to issue a new one`);
  }
}
