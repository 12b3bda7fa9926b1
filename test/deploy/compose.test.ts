// No Docker engine runs here or in CI: docker-compose.yml, the Dockerfile and .dockerignore are checked by
// reading them. The compose file is validated against the Compose Specification's JSON schema (the copy
// the dclint package ships, from npm) and against the rules a production stack must keep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { parseConfig, secretEnvNames, ConfigError } from '../../src/config/load';
import { PROJECT_ROOT, readServerTools } from '../../src/devtools/tools';
import {
  DYNAMIC_CONFIG,
  SERVER_CONFIG,
  SETUP_NAMESPACE,
  SETUP_SCHEMA,
  searchAttributeList,
} from '../../src/devtools/cluster';
import { configuredRoles } from '../../workers/runtime';

type Service = {
  image?: string;
  build?: { context?: string; target?: string } | string;
  environment?: Record<string, string>;
  command?: string[] | string;
  entrypoint?: string[] | string;
  ports?: string[];
  restart?: string;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[];
  volumes?: string[];
  secrets?: string[];
  user?: string;
};
type Compose = {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean }>;
  secrets: Record<string, { file?: string; environment?: string }>;
};

const composeText = readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;
const ONE_SHOT = ['temporal-schema', 'temporal-setup'];
const longRunning = Object.keys(services).filter((s) => !ONE_SHOT.includes(s));
const version = (image: string) => image.slice(image.lastIndexOf(':') + 1);

/** Where a container path comes from on the host (a bind mount of this repository), or undefined. */
function hostPath(service: Service, containerPath: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [src, dst] = v.split(':');
    if (!src?.startsWith('.') || !dst) continue;
    if (containerPath === dst) return join(PROJECT_ROOT, src);
    if (containerPath.startsWith(`${dst}/`)) return join(PROJECT_ROOT, src, posix.relative(dst, containerPath));
  }
  return undefined;
}

test('docker-compose.yml is valid against the Compose Specification JSON schema', () => {
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  assert.equal(schema.title, 'Compose Specification');
  delete schema.$schema; // draft-07, Ajv's default; its https spelling is not a registered meta-schema id
  const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
  // Validated as Compose reads it: YAML merge keys (<<: *loopline) resolved, x- extension blocks kept.
  const ok = validate(compose);
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
});

test('every image is pinned to a version: the Temporal server and tools at the provisioned version, PostgreSQL at its major', () => {
  const tools = readServerTools();
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image, `${name} names its image`);
    assert.match(s.image!, /:[^:/]*\d[^:/]*$/, `${name}: ${s.image} has no version tag`);
    assert.doesNotMatch(version(s.image!), /^(latest|stable|edge|main|dev|nightly)$/, `${name}: ${s.image}`);
  }
  const serverVersion = tools.temporal.version.replace(/^v/, '');
  assert.equal(services.temporal!.image, `temporalio/server:${serverVersion}`);
  for (const job of ONE_SHOT) assert.equal(services[job]!.image, `temporalio/admin-tools:${serverVersion}`);
  const pgMajor = /PostgreSQL\) (\d+)\./.exec(tools.postgres.version)?.[1];
  assert.match(
    services.postgresql!.image!,
    new RegExp(`^postgres:${pgMajor}\\.\\d+-`),
    'the major the cluster test runs',
  );
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(
    services['loopline-http']!.image,
    `loopline:${pkg.version}`,
    'the built image is tagged with our version',
  );
});

test('the schema job is one-shot; the server waits for it to complete, Loopline for the namespace job', () => {
  assert.deepEqual(services.temporal!.depends_on, {
    'temporal-schema': { condition: 'service_completed_successfully' },
  });
  assert.equal(services['temporal-schema']!.depends_on?.postgresql?.condition, 'service_healthy');
  assert.equal(services['temporal-setup']!.depends_on?.temporal?.condition, 'service_healthy');
  for (const name of Object.keys(services).filter((n) => n.startsWith('loopline-'))) {
    assert.equal(services[name]!.depends_on?.['temporal-setup']?.condition, 'service_completed_successfully', name);
  }
  for (const job of ONE_SHOT) {
    assert.match(services[job]!.restart ?? '', /^on-failure(:\d+)?$/, `${job} must not restart once it succeeded`);
  }
});

test('no failure is hidden: no "|| true" in the compose file or the scripts it runs', () => {
  for (const [file, text] of [
    ['docker-compose.yml', composeText],
    ['setup-schema.sh', readFileSync(SETUP_SCHEMA, 'utf8')],
    ['setup-namespace.sh', readFileSync(SETUP_NAMESPACE, 'utf8')],
  ]) {
    assert.doesNotMatch(text!, /\|\|\s*(true|:)\b/, file);
  }
  assert.match(readFileSync(SETUP_SCHEMA, 'utf8'), /^set -eu$/m);
  assert.match(readFileSync(SETUP_NAMESPACE, 'utf8'), /^set -eu$/m);
});

test('long-running services restart on their own and have a healthcheck', () => {
  for (const name of longRunning) {
    const s = services[name]!;
    assert.match(s.restart ?? '', /^(unless-stopped|always)$/, `${name}: restart policy`);
    assert.ok(s.healthcheck?.test && !s.healthcheck.disable, `${name}: healthcheck`);
  }
});

test('Temporal (gRPC 7233, Web UI 8233) is on the internal network only; the one published port binds loopback', () => {
  assert.equal(compose.networks.internal?.internal, true);
  for (const name of ['postgresql', 'temporal', 'temporal-ui', ...ONE_SHOT]) {
    const s = services[name]!;
    assert.equal(s.ports, undefined, `${name} publishes nothing`);
    assert.deepEqual(s.networks, ['internal'], `${name} is on the internal network only`);
  }
  assert.equal(services['temporal-ui']!.environment?.TEMPORAL_UI_PORT, '8233');
  for (const [name, s] of Object.entries(services)) {
    for (const p of s.ports ?? []) {
      assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name}: ${p} binds an explicit loopback interface`);
      assert.doesNotMatch(p, /:(7233|8233)$/, `${name} publishes a Temporal port`);
    }
  }
});

test('secrets come only from files (compose secrets) or the environment, never literals', () => {
  for (const [name, secret] of Object.entries(compose.secrets)) {
    assert.ok(secret.file ?? secret.environment, `${name}: a file or an environment variable`);
    if (secret.file) assert.match(secret.file, /^\.\/secrets\//, `${name} lives in the git-ignored secrets/`);
  }
  assert.match(readFileSync(join(PROJECT_ROOT, '.gitignore'), 'utf8'), /^secrets\/$/m);
  const secretish = /(PASSWORD|PASSWD|PWD|TOKEN|SECRET|API_KEY|PAYLOAD_KEY)/;
  for (const [name, s] of Object.entries(services)) {
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      if (!secretish.test(k)) continue;
      if (k.endsWith('_FILE')) {
        const secret = /^\/run\/secrets\/([\w-]+)$/.exec(String(v))?.[1];
        assert.ok(secret && s.secrets?.includes(secret), `${name}.${k} must name a secret mounted in the service`);
      } else {
        assert.match(String(v), /^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/, `${name}.${k} must come from the environment`);
      }
    }
  }
  assert.doesNotMatch(composeText, /POSTGRES_PASSWORD:\s*\S/, 'no literal database password');
});

test('the server runs from the same config file as npm run cluster, and the jobs run the cluster scripts', () => {
  const server = services.temporal!;
  assert.equal(hostPath(server, server.environment!.TEMPORAL_SERVER_CONFIG_FILE_PATH!), SERVER_CONFIG);
  assert.equal(hostPath(server, server.environment!.DYNAMIC_CONFIG_FILE_PATH!), DYNAMIC_CONFIG);
  const schemaJob = services['temporal-schema']!;
  assert.equal(hostPath(schemaJob, (schemaJob.command as string[])[0]!), SETUP_SCHEMA);
  const setupJob = services['temporal-setup']!;
  assert.equal(hostPath(setupJob, (setupJob.command as string[])[0]!), SETUP_NAMESPACE);
  // The same search attributes as the cluster registers (src/temporal/search-attributes.ts).
  assert.equal(setupJob.environment!.LOOPLINE_SEARCH_ATTRIBUTES!.split(/\s+/).join(' '), searchAttributeList());
});

const productionConfigFile = (s: Service) => hostPath(s, s.environment!.LOOPLINE_CONFIG!);

test('Loopline runs from a production config separate from the sandbox one; it refuses to start until its URLs are filled in', () => {
  const file = productionConfigFile(services['loopline-http']!)!;
  assert.ok(file && existsSync(file), 'LOOPLINE_CONFIG is mounted from the repository');
  assert.notEqual(file, join(PROJECT_ROOT, 'src/config/loopline.yaml'));
  const text = readFileSync(file, 'utf8');
  const env = services['loopline-http']!.environment!;
  assert.throws(
    () => parseConfig(text, 'production', env),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.some((p) => p.startsWith('channels[0].connection.baseUrl: got "REPLACE')) &&
      err.problems.some((p) => p.startsWith('channels[1].connection.baseUrl: got "REPLACE')),
  );
  const filled = text.replace(/REPLACE-with-the-(\w+)-Mirakl-instance-URL/g, 'https://$1.mirakl.example');
  const cfg = parseConfig(filled, 'production', env);
  assert.equal(cfg.sandbox.enabled, false);
  assert.equal(cfg.temporal.address, 'temporal:7233');
  assert.equal(cfg.http.host, '0.0.0.0');
  assert.equal(cfg.security.payloadEncryption.enabled, true);
  assert.equal(cfg.metrics.temporalPrometheus, '0.0.0.0:9464', 'the workers healthcheck reads it');
  assert.ok(cfg.channels.every((c) => !/127\.0\.0\.1|localhost/.test(c.connection.baseUrl)));

  // Every worker role the config needs has its service, and every secret the config names is given to it.
  const workerRoles = Object.values(services)
    .map((s) => s.command)
    .filter((c): c is string[] => Array.isArray(c) && c[0] === 'worker')
    .map((c) => c[1]);
  assert.deepEqual([...workerRoles].sort(), [...configuredRoles(cfg)].sort());
  assert.deepEqual(services['loopline-http']!.command, ['http']);
  for (const [name, s] of Object.entries(services).filter(([n]) => n.startsWith('loopline-'))) {
    assert.equal(productionConfigFile(s), file, `${name} reads the production config`);
    for (const secret of secretEnvNames(cfg).filter((n) => n !== cfg.temporal.apiKeyEnv)) {
      assert.ok(s.environment?.[`${secret}_FILE`] ?? s.environment?.[secret], `${name} gets ${secret}`);
    }
  }
});

test('mTLS and Web UI authentication are documented as options', () => {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs/deployment.md'), 'utf8');
  assert.match(doc, /mTLS/);
  assert.match(doc, /TEMPORAL_TLS_FRONTEND_CERT/);
  assert.match(doc, /TEMPORAL_AUTH_ENABLED/);
});

test('the Dockerfile is multi-stage, pinned, ships the dashboard assets and runs as a non-root user', () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)];
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const [, image] of froms) assert.match(image!, /^node:20\.\d+\.\d+-bookworm-slim$/, `${image} pinned`);
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  assert.match(runtimeStage, / AS runtime$/m);
  assert.equal(
    services['loopline-http']!.build && (services['loopline-http']!.build as { target: string }).target,
    'runtime',
  );
  assert.match(runtimeStage, /^USER node$/m);
  assert.doesNotMatch(runtimeStage, /^USER (root|0)\b/m);
  for (const s of Object.values(services)) assert.ok(s.user === undefined || !/^(root|0)(:|$)/.test(s.user));
  // Every file the compiled code reads beside itself is copied next to it.
  assert.ok(readdirSync(join(PROJECT_ROOT, 'src/http/dashboard')).length > 0);
  assert.match(runtimeStage, /^COPY --from=build \/app\/src\/http\/dashboard \.\/dist\/src\/http\/dashboard$/m);
  assert.match(
    runtimeStage,
    /^COPY --from=build \/app\/src\/config\/loopline\.yaml \.\/dist\/src\/config\/loopline\.yaml$/m,
  );
  assert.match(runtimeStage, /^ENTRYPOINT \["node", "dist\/workers\/main\.js"\]$/m);
  assert.match(dockerfile, /npm ci/);
  assert.match(dockerfile, /npm prune --omit=dev/);
  const ignored = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const p of ['node_modules', '.git', '.tools', '.loopline', 'dist', 'secrets']) {
    assert.ok(ignored.includes(p), `.dockerignore keeps ${p} out of the build context`);
  }
  assert.equal(relative(PROJECT_ROOT, join(PROJECT_ROOT, 'Dockerfile')), 'Dockerfile');
});
