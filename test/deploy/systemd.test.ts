// deploy/systemd/orchard.service and its environment example: consistent with Orchard's settings and
// with each other, hardened, and accepted by `systemd-analyze verify` where systemd is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { sourceDescriptors } from '../../src/sources/index.ts';
import { repoRoot } from '../helpers/markdown-pages.ts';

const unitText = readFileSync(join(repoRoot, 'deploy/systemd/orchard.service'), 'utf8');
const envText = readFileSync(join(repoRoot, 'deploy/systemd/orchard.env.example'), 'utf8');
const settings = configSchemaFor(sourceDescriptors).properties;

/** A unit file as systemd reads it: per section, each key's values in order (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) sections.set(section[1]!, (current = new Map()));
    else {
      const eq = line.indexOf('=');
      assert.ok(current && eq > 0, `not a setting: ${line}`);
      const key = line.slice(0, eq);
      current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return sections;
}

const service = parseUnit(unitText).get('Service')!;
const one = (key: string) => {
  const values = service.get(key);
  assert.equal(values?.length, 1, `${key} is set once`);
  return values[0]!;
};
const environment = new Map(
  (service.get('Environment') ?? []).flatMap((v) => v.split(' ')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
);

test('the unit runs the compiled Orchard with node itself, so SIGTERM reaches it, and waits out its shutdown', () => {
  assert.match(one('ExecStart'), /^\/usr\/bin\/node \/opt\/orchard\/bin\/orchard\.js serve$/);
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.ok(Number(one('TimeoutStopSec')) * 1000 > (settings.shutdown_timeout_ms!.default as number), 'longer than shutdown_timeout_ms');
  assert.equal(one('RestartPreventExitStatus'), '2', 'a configuration error (exit 2) is not restarted');
  assert.equal(environment.get('ORCHARD_DATA_DIR'), `/var/lib/${one('StateDirectory')}`);
});

test('secrets come as systemd credentials, read through the *_FILE settings; none is in the environment', () => {
  const credentials = new Map(service.get('LoadCredential')!.map((v) => v.split(':') as [string, string]));
  assert.deepEqual([...credentials.keys()].sort(), ['redis_url', 'webhook_secret']);
  const fileVars = [...environment].filter(([k]) => k.endsWith('_FILE'));
  assert.deepEqual(fileVars.map(([k]) => k).sort(), ['ORCHARD_WEBHOOK_SECRETS_FILE', 'REDIS_URL_FILE']);
  for (const [name, value] of fileVars) {
    const credential = /^%d\/(\w+)$/.exec(value)?.[1];
    assert.ok(credential && credentials.has(credential), `${name}=${value} names a LoadCredential`);
    assert.ok(Object.values(settings).some((s) => s['x-secret'] && `${s['x-env']}_FILE` === name), `${name}: the _FILE variant of a secret setting`);
  }
  const secretEnvNames = Object.values(settings).filter((s) => s['x-secret']).map((s) => s['x-env']);
  for (const line of envText.split('\n').filter((l) => /^[A-Z_]+=/.test(l))) {
    const name = line.slice(0, line.indexOf('='));
    assert.ok(!secretEnvNames.includes(name), `${name} is a secret: not in the EnvironmentFile`);
    assert.ok(name === 'ORCHARD_CONFIG' || Object.values(settings).some((s) => s['x-env'] === name), `${name} is an Orchard setting`);
  }
});

test('the unit is sandboxed, without the one restriction that breaks Node', () => {
  for (const [key, value] of Object.entries({
    NoNewPrivileges: 'yes',
    CapabilityBoundingSet: '',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectControlGroups: 'yes',
    RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
    RestrictSUIDSGID: 'yes',
    SystemCallArchitectures: 'native',
    UMask: '0077',
  })) {
    assert.equal(one(key), value, key);
  }
  assert.equal(one('User'), 'orchard');
  assert.equal(service.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs writable, executable memory");
  assert.ok(Number(one('LimitNOFILE')) > (settings.max_connections!.default as number), 'room for max_connections');
});

const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

test('systemd-analyze verify finds nothing to say', { skip: systemdAnalyze ? false : 'systemd-analyze is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // verify checks that ExecStart's program exists: point it at this machine's node.
  const unit = join(dir, 'orchard.service');
  writeFileSync(unit, unitText.replace('/usr/bin/node ', `${process.execPath} `));
  const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '', 'no unknown or misspelt directive');
  // It does speak up for a mistake.
  writeFileSync(unit, unitText.replace('UMask=0077', 'UMask=0077\nProtectSytem=strict'));
  assert.match(spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' }).stderr, /Unknown key 'ProtectSytem'/);
});
