// The payload codec on its own: what it stores is unreadable without a configured key, old keys keep
// decrypting after a rotation, and anything wrong fails loudly with the key id in the message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  PlaintextPayloadError,
  WORKFLOW_ID_METADATA,
  deserializePayload,
  sealedWorkflowId,
  serializePayload,
} from '../../src/temporal/codec';
import {
  createDataConverter,
  createPayloadCodec,
  loadPayloadKeys,
  requiresEncryption,
} from '../../src/temporal/data-converter';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../../src/config/load';
import { SANDBOX_SECRETS } from '../../src/sandbox/systems';
import { failureConverter } from '../../src/temporal/failure-converter';

const customer = { name: 'Philippa Quennell', email: 'philippa.q@example.invalid', line1: '17 Marlowe Crescent' };
const plain = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const text = (p: Payload) => Buffer.from(JSON.stringify({ m: p.metadata, d: p.data })).toString('latin1');
const meta = (p: Payload, k: string) => new TextDecoder().decode(p.metadata?.[k]);

describe('AES-256-GCM payload codec', () => {
  const k1 = { id: 'key-1', key: randomBytes(32) };
  const k2 = { id: 'key-2', key: randomBytes(32) };

  test('a customer record round-trips, and the stored form names the key but shows nothing of the customer', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const original = plain(customer);
    const [sealed] = await codec.encode([original]);
    assert.ok(sealed);
    assert.equal(meta(sealed, 'encoding'), ENCRYPTED_ENCODING);
    assert.equal(meta(sealed, KEY_ID_METADATA), 'key-1');
    const stored = Buffer.from(sealed.data!).toString('latin1') + text(sealed);
    for (const v of Object.values(customer)) assert.ok(!stored.includes(v), `${v} visible in the stored payload`);
    assert.ok(!stored.includes('json/plain'), 'the original encoding is sealed too');
    const [opened] = await codec.decode([sealed]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), customer);
    assert.deepEqual(opened, original);
  });

  test('the same value encrypts differently every time (random IV)', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const [a, b] = await codec.encode([plain(customer), plain(customer)]);
    assert.notDeepEqual(a!.data, b!.data);
  });

  test('after rotation new payloads use the new key, and payloads written with the old key still decode', async () => {
    const before = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const [old] = await before.encode([plain(customer)]);
    const after = new EncryptionCodec({ currentKeyId: 'key-2', keys: [k2, k1] });
    const [fresh] = await after.encode([plain(customer)]);
    assert.equal(meta(fresh!, KEY_ID_METADATA), 'key-2');
    const decoded = await after.decode([old!, fresh!]);
    assert.deepEqual(
      decoded.map((p) => defaultPayloadConverter.fromPayload(p)),
      [customer, customer],
    );
  });

  test('a payload encrypted with a key that is no longer configured fails with an error naming that key id', async () => {
    const [old] = await new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] }).encode([plain(customer)]);
    const withoutKey1 = new EncryptionCodec({ currentKeyId: 'key-2', keys: [k2] });
    await assert.rejects(withoutKey1.decode([old!]), (err: unknown) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.equal(err.keyId, 'key-1');
      assert.match(err.message, /key id "key-1", which is not configured/);
      return true;
    });
  });

  test('tampered ciphertext fails authentication instead of decoding to something else', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const [sealed] = await codec.encode([plain(customer)]);
    const data = new Uint8Array(sealed!.data!);
    data[20] = data[20]! ^ 0x01;
    await assert.rejects(codec.decode([{ ...sealed!, data }]), /key id "key-1" failed authentication/);
  });

  test('a payload relabelled with another configured key id fails (the key id is authenticated)', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1, k2] });
    const [sealed] = await codec.encode([plain(customer)]);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: Buffer.from('key-2') } };
    await assert.rejects(codec.decode([relabelled]), /key id "key-2" failed authentication/);
  });

  test('payloads recorded before encryption was turned on pass through decode unchanged', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const unencrypted = [plain(customer), plain(undefined), plain(new Uint8Array([1, 2, 3]))];
    assert.deepEqual(await codec.decode(unencrypted), unencrypted);
  });

  test('the sealed plaintext is the Payload protobuf (interoperable with other SDKs’ codecs)', () => {
    const p = plain({ a: 1 });
    const bytes = serializePayload(p);
    // Field 1 (metadata map entry, length-delimited) comes first: tag byte 0x0a.
    assert.equal(bytes[0], 0x0a);
    assert.deepEqual(deserializePayload(bytes), p);
  });
});

describe('payload encryption config', () => {
  const yaml = (extra = '') => `
security:
  payloadEncryption:
    enabled: true
    currentKeyId: key-1
    keys: [{ id: key-1, keyEnv: TEST_PAYLOAD_KEY_1 }${extra}]
`;
  const good = randomBytes(32).toString('base64');

  test('a key that is not 32 bytes is refused, naming the key id, the variable and the length', () => {
    const cfg = parseConfig(yaml(), 'test');
    assert.throws(
      () => loadPayloadKeys(cfg, { TEST_PAYLOAD_KEY_1: randomBytes(16).toString('base64') }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /keys\[0\] \(id "key-1"\): TEST_PAYLOAD_KEY_1 decodes to 16 bytes; .* exactly 32 bytes/,
        );
        return true;
      },
    );
  });

  test('a missing or non-base64 key is refused by name', () => {
    const cfg = parseConfig(yaml(', { id: key-0, keyEnv: TEST_PAYLOAD_KEY_0 }'), 'test');
    assert.throws(
      () => loadPayloadKeys(cfg, { TEST_PAYLOAD_KEY_1: 'not base64 at all!' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /id "key-1"\): TEST_PAYLOAD_KEY_1 is not base64/);
        assert.match(err.message, /id "key-0"\): environment variable TEST_PAYLOAD_KEY_0 is not set/);
        return true;
      },
    );
  });

  test('the current key must be one of the keys, and key ids must be unique', () => {
    assert.throws(
      () =>
        parseConfig(
          'security: { payloadEncryption: { enabled: true, currentKeyId: key-9, keys: [{ id: key-1, keyEnv: K1 }, { id: key-1, keyEnv: K2 }] } }',
          'test',
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /security\.payloadEncryption\.currentKeyId: got "key-9"; no key with id "key-9"/);
        assert.match(err.message, /security\.payloadEncryption\.keys\[1\]\.id: got "key-1"; duplicate key id "key-1"/);
        return true;
      },
    );
  });

  test('encryption is off unless configured; the shipped config turns it on with the sandbox key', () => {
    // Off: no codec; the failure converter (encodeCommonAttributes) is there either way.
    assert.deepEqual(Object.keys(createDataConverter(parseConfig('{}', 'test'), {})), ['failureConverterPath']);
    const on = createDataConverter(parseConfig(yaml(), 'test'), { TEST_PAYLOAD_KEY_1: good });
    assert.equal(on.payloadCodecs?.length, 1);
    const shipped = loadConfig(DEFAULT_CONFIG_PATH, {});
    assert.equal(shipped.security.payloadEncryption.enabled, true);
    assert.deepEqual(shipped.security.codecEndpoint.corsOrigins, ['http://localhost:8233']);
    assert.equal(createDataConverter(shipped, SANDBOX_SECRETS).payloadCodecs?.length, 1);
  });
});

describe('require-encrypted mode and the workflow id in each payload', () => {
  const k1 = { id: 'key-1', key: randomBytes(32) };
  const ctx = { type: 'workflow' as const, namespace: 'default', workflowId: 'order:asos:1001-A' };

  test('with requireEncrypted, a plaintext payload is refused naming the workflow; the display decode still shows it', async () => {
    const strict = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1], requireEncrypted: true });
    const forged = plain({ despatchNumber: 'FAKE-1', trackingNumber: 'X' });
    await assert.rejects(strict.decode([forged], ctx), (err: unknown) => {
      assert.ok(err instanceof PlaintextPayloadError);
      assert.match(err.message, /plaintext payload refused for workflow order:asos:1001-A/);
      return true;
    });
    // Sealed payloads still decode, and the codec endpoint's display decode passes plaintext through.
    const [sealed] = await strict.encode([plain(customer)], ctx);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await strict.decode([sealed!], ctx))[0]!), customer);
    assert.deepEqual(await strict.decodeForDisplay([forged]), [forged]);
  });

  test('requireEncrypted is on by default outside the sandbox and off in it (migration setting aside)', () => {
    const env = { TEST_PAYLOAD_KEY_1: randomBytes(32).toString('base64') };
    const yaml = (extra: string) => `
${extra}
security:
  payloadEncryption: { enabled: true, currentKeyId: key-1, keys: [{ id: key-1, keyEnv: TEST_PAYLOAD_KEY_1 }] }
`;
    assert.equal(requiresEncryption(parseConfig(yaml(''), 't', env)), true);
    assert.equal(requiresEncryption(parseConfig(yaml('sandbox: { enabled: true }'), 't', env)), false);
    const migrating = parseConfig(yaml('').replace('keys:', 'requireEncrypted: false, keys:'), 't', env);
    assert.equal(requiresEncryption(migrating), false);
    assert.equal(createPayloadCodec(parseConfig(yaml(''), 't', env), env)?.requiresEncryption, true);
  });

  test('the workflow id is stored with the payload and authenticated: relabelling it fails', async () => {
    const codec = new EncryptionCodec({ currentKeyId: 'key-1', keys: [k1] });
    const [sealed] = await codec.encode([plain(customer)], ctx);
    assert.equal(sealedWorkflowId(sealed!), 'order:asos:1001-A');
    assert.equal(meta(sealed!, WORKFLOW_ID_METADATA), 'order:asos:1001-A');
    const moved = {
      ...sealed!,
      metadata: { ...sealed!.metadata, [WORKFLOW_ID_METADATA]: Buffer.from('order:asos:2002-A') },
    };
    await assert.rejects(codec.decode([moved]), /failed authentication/);
    const stripped = { ...sealed!, metadata: { ...sealed!.metadata } };
    delete stripped.metadata[WORKFLOW_ID_METADATA];
    await assert.rejects(codec.decode([stripped]), /failed authentication/);
    // Without a context (the Web UI's encode, a client call with no workflow) nothing is stored.
    const [bare] = await codec.encode([plain(customer)]);
    assert.equal(sealedWorkflowId(bare!), undefined);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await codec.decode([bare!]))[0]!), customer);
  });

  test('failure messages and stack traces are encoded as a payload (then encrypted by the codec)', async () => {
    const failure = failureConverter.errorToFailure(
      ApplicationFailure.create({ message: 'Philippa Quennell at 17 Marlowe Crescent', type: 'WMS_REJECTED' }),
      defaultPayloadConverter,
    );
    assert.equal(failure.message, 'Encoded failure');
    assert.ok(failure.encodedAttributes, 'the message travels as a payload');
    const back = failureConverter.failureToError(failure, defaultPayloadConverter);
    assert.equal(back.message, 'Philippa Quennell at 17 Marlowe Crescent');
  });
});
