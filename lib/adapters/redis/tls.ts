import net from 'node:net';
import tls from 'node:tls';

/**
 * Node checks a server reached by IP against the certificate's IP SANs only; Memorystore's server certificate
 * names the instance's IP as its CN. Either is accepted, and only for a chain that verified against the CA given
 * (the instance's own, which signs that instance's certificate and nothing else).
 */
export function checkRedisServerIdentity(host: string, cert: tls.PeerCertificate): Error | undefined {
  const err = tls.checkServerIdentity(host, cert);
  if (err && net.isIP(host) && cert.subject?.CN === host) return undefined;
  return err;
}

/** TLS options that trust exactly `ca` (PEM, one or more certificates) for a Redis server. */
export function redisTlsOptions(ca: string): tls.ConnectionOptions {
  return { ca, checkServerIdentity: checkRedisServerIdentity };
}
