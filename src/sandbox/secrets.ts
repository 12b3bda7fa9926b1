// The sandbox's credentials: what the simulators accept and what `npm start` and the test stacks run
// with. They are published here, so they protect nothing: outside the sandbox Loopline refuses to start
// with any of them (src/config/secrets.ts), and the payload key never encrypts a real tenant's data.
export const SANDBOX_SECRETS: Record<string, string> = {
  MIRAKL_ASOS_API_KEY: 'sandbox-asos-key',
  MIRAKL_JOULES_API_KEY: 'sandbox-joules-key',
  PEOPLEVOX_PASSWORD: 'sandbox-pvx-password',
  SHOPIFY_ACCESS_TOKEN: 'shpat_sandbox-access-token',
  SHOPIFY_WEBHOOK_SECRET: 'sandbox-shopify-client-secret',
  // The three roles of the internal listener (docs/security.md), each its own credential.
  LOOPLINE_OPS_TOKEN: 'sandbox-operator-token-published',
  LOOPLINE_VIEWER_TOKEN: 'sandbox-viewer-token-published',
  LOOPLINE_DECRYPTOR_TOKEN: 'sandbox-decryptor-token-published',
  // The secret in the path of every callback URL registered with Peoplevox (and Reveni).
  LOOPLINE_WEBHOOK_SECRET: 'sandbox-callback-path-secret-published',
  MARKETPLACER_WEBHOOK_HMAC_KEY: 'sandbox-marketplacer-hmac-key-published',
  // The sandbox's Marketplacer channel (code mkp): its Seller API key.
  MARKETPLACER_MKP_API_KEY: 'sandbox-marketplacer-mkp-api-key',
  REVENI_API_KEY: 'sandbox-reveni-key-published',
  // Payload encryption key of the sandbox (security.payloadEncryption): published here, so never use it
  // for a real tenant; generate your own with `openssl rand -base64 32` (docs/security.md).
  LOOPLINE_PAYLOAD_KEY_1: 'myZcWaLm8+OPGLAsaPLxk4Zk2D5aaanfglGi22Ug/Ow=',
};

/** True when `value` is one of the published sandbox credentials. */
export function isPublishedSandboxSecret(value: string | undefined): boolean {
  return value !== undefined && Object.values(SANDBOX_SECRETS).includes(value.trim());
}
