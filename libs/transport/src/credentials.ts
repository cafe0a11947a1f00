import { nkeys } from '@nats-io/nats-core';
import { jobIdentities, renderAuthorizationConfig, type Identity } from './permissions';

/** A generated identity: its user NKey seed (secret) and public key (not secret). */
export interface IdentityCredential {
  readonly identity: Identity;
  /** The seed, `SU…`; whoever holds it acts as this identity. */
  readonly seed: string;
  /** The public key, `U…`, that the server configuration lists. */
  readonly publicKey: string;
}

/** The credentials of every identity of a job and the server configuration that admits them. */
export interface JobCredentials {
  readonly job: string;
  readonly world: number;
  readonly credentials: readonly IdentityCredential[];
  /** The nats-server `authorization` block; public keys only. */
  readonly authorizationConfig: string;
}

/** Creates a fresh user NKey for each identity of a job with `world` workers. */
export function generateJobCredentials(job: string, world: number): JobCredentials {
  const credentials = jobIdentities(world).map((identity) => {
    const pair = nkeys.createUser();
    const seed = new TextDecoder().decode(pair.getSeed());
    return { identity, seed, publicKey: pair.getPublicKey() };
  });
  const authorizationConfig = renderAuthorizationConfig(
    job,
    credentials.map(({ identity, publicKey }) => ({ identity, nkey: publicKey }))
  );
  return { job, world, credentials, authorizationConfig };
}
