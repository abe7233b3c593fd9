// docker-compose.yml, the Dockerfile and deploy/caddy/Caddyfile, checked without Docker (which does not
// run on the development machines): against the Compose Specification's schema, against each other,
// and against docs/docker-and-systemd.md, whose commands must be the compose file's own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { isCommand } from '../../src/cli/command-usage.ts';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { createAjv } from '../../src/schema/ajv.ts';
import { sourceDescriptors } from '../../src/sources/index.ts';
import { repoRoot } from '../helpers/markdown-pages.ts';

interface Service {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  secrets?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  networks?: Record<string, { ipv4_address?: string }> | string[];
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
}

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const composeText = read('docker-compose.yml');
const compose = parse(composeText) as Compose;
const dockerfile = read('Dockerfile');
const caddyfile = read('deploy/caddy/Caddyfile');
const page = read('docs/docker-and-systemd.md');
const settings = configSchemaFor(sourceDescriptors).properties;
const { orchard, redis, caddy } = compose.services as Record<'orchard' | 'redis' | 'caddy', Service>;

/** `ENV` values of the Dockerfile's runtime stage. */
function dockerfileEnv(): Record<string, string> {
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile.slice(dockerfile.indexOf('AS runtime')))![1]!;
  return Object.fromEntries([...block.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

test('docker-compose.yml is valid under the Compose Specification', () => {
  const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as Record<string, unknown>;
  const validate = createAjv({ strict: false, validateSchema: false, allErrors: true }).compile(schema);
  assert.ok(validate(compose), JSON.stringify(validate.errors, null, 1));
  // The schema refuses what Compose refuses: the check can fail.
  assert.equal(validate({ services: { orchard: { image: 'x', restart_policy: 'always' } } }), false);
});

test('every secret reaches Orchard as a file: *_FILE settings naming Docker secrets, none in the environment', () => {
  const env = orchard.environment!;
  const secretEnvNames = Object.values(settings).filter((s) => s['x-secret'] && s['x-env']).map((s) => s['x-env']!);
  assert.ok(secretEnvNames.includes('ORCHARD_WEBHOOK_SECRETS') && secretEnvNames.includes('REDIS_URL'));
  for (const name of secretEnvNames) assert.equal(env[name], undefined, `${name} is a secret: give ${name}_FILE`);
  const fileVars = Object.entries(env).filter(([k]) => k.endsWith('_FILE'));
  assert.deepEqual(fileVars.map(([k]) => k).sort(), ['ORCHARD_WEBHOOK_SECRETS_FILE', 'REDIS_URL_FILE']);
  for (const [name, value] of fileVars) {
    assert.ok(secretEnvNames.includes(name.slice(0, -'_FILE'.length)), `${name}: a _FILE variant of a secret setting`);
    const secret = /^\/run\/secrets\/(\w+)$/.exec(value)?.[1];
    assert.ok(secret && orchard.secrets!.includes(secret) && compose.secrets[secret], `${name}=${value} names a secret the service mounts`);
  }
  for (const { file } of Object.values(compose.secrets)) assert.match(file, /^\.\/secrets\/\w+$/);
  assert.match(read('.gitignore'), /^\/secrets\/$/m);
  assert.match(read('.dockerignore'), /^secrets$/m);
});

test('Redis has a password from its secret, persistence, and maxmemory with noeviction; it is not published', () => {
  const command = [...(redis.entrypoint ?? []), ...(redis.command ?? [])].join(' ');
  assert.match(command, /--requirepass "\$\$\(cat \/run\/secrets\/redis_password\)"/);
  assert.ok(redis.secrets!.includes('redis_password'));
  assert.match(command, /--maxmemory \$\{REDIS_MAXMEMORY:-1gb\}/);
  assert.match(command, /--maxmemory-policy noeviction/);
  assert.match(command, /--appendonly yes/);
  assert.equal(redis.ports, undefined);
  assert.match(redis.healthcheck!.test.join(' '), /REDISCLI_AUTH=.*\/run\/secrets\/redis_password.*redis-cli ping/);
  // The URL Orchard gets carries the same password, for the redis service.
  assert.match(composeText, /#   printf 'redis:\/\/:%s@redis:6379\\n' "\$\(cat secrets\/redis_password\)" > secrets\/redis_url/);
});

test('Orchard publishes nothing: the admin routes are on the network, the health check asks /readyz there', () => {
  const env = orchard.environment!;
  assert.equal(orchard.ports, undefined, 'Caddy publishes; Orchard does not');
  assert.equal(env.ORCHARD_ADMIN_PORT, dockerfileEnv().ORCHARD_ADMIN_PORT);
  assert.equal(env.ORCHARD_ADMIN_HOST, '0.0.0.0');
  assert.match(orchard.healthcheck!.test.join(' '), /process\.env\.ORCHARD_ADMIN_PORT.*\/readyz/);
  assert.match(dockerfile, /^HEALTHCHECK [^]*?\/readyz/m);
  assert.match(dockerfile, /^USER 10001:10001$/m);
  assert.deepEqual([...dockerfile.matchAll(/^EXPOSE (.+)$/gm)].map((m) => m[1]), [dockerfileEnv().PORT]);
});

test('Caddy terminates TLS and forwards exactly the push routes to Orchard, which trusts Caddy alone', () => {
  assert.ok(caddy.ports!.includes('443:443'));
  const mount = caddy.volumes!.find((v) => v.endsWith(':/etc/caddy/Caddyfile:ro'))!;
  assert.ok(existsSync(join(repoRoot, mount.split(':')[0]!)), mount);
  assert.match(caddyfile, new RegExp(`reverse_proxy orchard:${dockerfileEnv().PORT}\\n`));
  const routes = /@intake path (.+)/.exec(caddyfile)![1]!.split(' ');
  assert.deepEqual(routes, [settings.webhook_path!.default, settings.protect_path!.default, settings.logs_path!.default]);
  assert.doesNotMatch(caddyfile, /^\s*tls internal/m, 'Jamf Pro refuses self-signed certificates');
  const caddyAddress = (caddy.networks as Record<string, { ipv4_address?: string }>).orchard!.ipv4_address!;
  assert.equal(orchard.environment!.ORCHARD_TRUST_PROXY, caddyAddress);
  assert.equal(orchard.environment!.ORCHARD_TRUSTED_ADDRESSES, caddyAddress);
  const subnet = compose.networks.orchard!.ipam.config[0]!.subnet;
  assert.ok(caddyAddress.startsWith(subnet.split('.').slice(0, 3).join('.') + '.'), `${caddyAddress} in ${subnet}`);
});

test('the docs and the compose file give the same commands, in the same order', () => {
  const header = [...composeText.matchAll(/^# {3}(\S.*)$/gm)].map((m) => m[1]!);
  const section = page.slice(page.indexOf('## Docker Compose'), page.indexOf('## systemd'));
  const block = /```sh\n([^]*?)```/.exec(section)![1]!.trim().split('\n');
  assert.deepEqual(block, header);
  assert.ok(page.replace(/\s+/g, ' ').includes(`admin port ${orchard.environment!.ORCHARD_ADMIN_PORT}`), 'the docs name the admin port the compose file sets');
  // `orchard secret`, which the steps end with, is a command of the CLI.
  assert.ok(isCommand('secret'));
});

const caddyInstalled = spawnSync('caddy', ['version'], { stdio: 'ignore' }).status === 0;

test('caddy accepts the Caddyfile', { skip: caddyInstalled ? false : 'caddy is not installed (Debian: apt-get install caddy)' }, (t) => {
  const home = mkdtempSync(join(tmpdir(), 'orchard-caddy-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const result = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', join(repoRoot, 'deploy/caddy/Caddyfile')], {
    encoding: 'utf8',
    env: { ...process.env, ORCHARD_DOMAIN: 'orchard.example.com', HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
