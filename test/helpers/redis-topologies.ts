import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './free-port.ts';

// Real Redis topologies for the tests, built from redis-server processes on free ports (no Docker):
// a Redis Cluster of three primaries with one replica each, and a primary with one replica watched by
// three sentinels. Each is started once per test file (they take one to three seconds) and can lose a
// node to SIGKILL. Timeouts are short (cluster-node-timeout 1000 ms, down-after-milliseconds 1000 ms)
// so that a failover completes within a few seconds.
// Cluster set-up: https://redis.io/docs/latest/operate/oss_and_stack/management/scaling/ ("Create a
// Redis Cluster": cluster-enabled yes, redis-cli --cluster create … --cluster-replicas 1).
// Sentinel: https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/ (sentinel monitor
// <name> <ip> <port> <quorum>, down-after-milliseconds, failover-timeout).

const run = promisify(execFile);

/** One redis-server (data node or sentinel) of a topology. */
export class TopologyNode {
  #child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
    /** requirepass of this node, if any. */
    readonly password?: string,
    /** The node speaks TLS only (its port is its tls-port), trusting this certificate. */
    readonly tls?: TestCertificate,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts the process and resolves once it answers PING (a sentinel never says "ready to accept connections"). */
  async start(password = this.password, extraArgs: readonly string[] = []): Promise<void> {
    // redis-server logs to stdout: why it exited (a port taken meanwhile, a bad option) is said there.
    const child = spawn('redis-server', [...this.args, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let said = '';
    const keep = (chunk: Buffer) => (said = (said + String(chunk)).slice(-2000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await poll(`redis-server on port ${this.port} answering`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited: ${said}`);
      return (await ask(this, password, (c) => c.ping())) === 'PONG';
    }, 15_000, true);
  }

  /** SIGKILL, as a crashed machine: no shutdown, no final write. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  /** A plain connection to this one node (RESP2, as Orchard's). */
  client(password?: string): Redis {
    return new Redis<'legacy'>(this.port, '127.0.0.1', { protocol: 2, maxRetriesPerRequest: 1, password, lazyConnect: false, retryStrategy: () => 200, ...(this.tls ? { tls: { ca: this.tls.pem } } : {}) });
  }
}

/** A self-signed certificate for 127.0.0.1 (its own CA), for Redis TLS. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly pem: Buffer;
}

/** A self-signed certificate for 127.0.0.1 (an EC P-256 key: made in milliseconds, where RSA-2048 took a few hundred). */
export function makeTestCertificate(dir: string): TestCertificate {
  const certFile = join(dir, 'redis-cert.pem');
  const keyFile = join(dir, 'redis-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile, pem: readFileSync(certFile) };
}

/** redis-server arguments that make a node speak TLS only, on `port` (clients need not present a certificate). */
function tlsArgs(port: number, tls: TestCertificate | undefined): string[] {
  if (!tls) return ['--port', String(port)];
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.certFile, '--tls-auth-clients', 'no', '--tls-replication', 'yes', '--tls-cluster', 'yes'];
}

/** Common redis-server arguments: this port and directory, no RDB, AOF with fsync always (SIGKILL-safe). */
export function dataArgs(port: number, dir: string, password: string | undefined, extra: readonly string[], tls?: TestCertificate): string[] {
  return [
    ...tlsArgs(port, tls),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--logfile', '',
    // A replica's first full sync starts at once rather than after the 5 s Redis waits for more replicas.
    '--repl-diskless-sync-delay', '0',
    ...(password ? ['--requirepass', password, '--masterauth', password] : []),
    ...extra,
  ];
}

async function poll(what: string, check: () => Promise<boolean>, deadlineMs = 30_000, rethrowExit = false): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (rethrowExit && /exited/.test((err as Error).message)) throw err;
    }
    if (Date.now() > end) throw new Error(`Topology: ${what} did not happen within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks one node, with a connection opened for it and closed after. */
async function ask<T>(node: TopologyNode, password: string | undefined, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis<'legacy'>(node.port, '127.0.0.1', { protocol: 2, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, ...(node.tls ? { tls: { ca: node.tls.pem } } : {}) });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

export interface ClusterTopologyOptions {
  readonly password?: string;
  /** Every node, its cluster bus and its replication speak TLS only (a self-signed certificate). */
  readonly tls?: boolean;
}

/** Three primaries with one replica each, all slots covered. */
export class ClusterTopology {
  readonly clients: Cluster[] = [];

  private constructor(
    readonly nodes: readonly TopologyNode[],
    readonly dir: string,
    readonly password: string | undefined,
    readonly tls: TestCertificate | undefined,
  ) {}

  static async start(options: ClusterTopologyOptions = {}): Promise<ClusterTopology> {
    const dir = mkdtempSync(join(tmpdir(), 'orchard-cluster-'));
    const tls = options.tls ? makeTestCertificate(dir) : undefined;
    const nodes: TopologyNode[] = [];
    for (let i = 0; i < 6; i++) {
      const port = await freePort({ alsoFreeAt: 10_000 }); // the cluster bus port
      const nodeDir = mkdtempSync(join(dir, `n${i}-`));
      const extra = ['--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '1000', '--cluster-replica-validity-factor', '0', '--cluster-require-full-coverage', 'no'];
      nodes.push(new TopologyNode(port, nodeDir, dataArgs(port, nodeDir, options.password, extra, tls), options.password, tls));
    }
    const topology = new ClusterTopology(nodes, dir, options.password, tls);
    try {
      await Promise.all(nodes.map((n) => n.start(options.password)));
      await run('redis-cli', [...(options.password ? ['-a', options.password, '--no-auth-warning'] : []), ...(tls ? ['--tls', '--cacert', tls.certFile] : []), '--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
      await topology.waitHealthy();
    } catch (err) {
      await topology.stop();
      throw err;
    }
    return topology;
  }

  /** `host:port,…` of every node, as ORCHARD_REDIS_CLUSTER_NODES takes them. */
  get seeds(): string {
    return this.nodes.map((n) => n.address).join(',');
  }

  /** The settings that point Orchard at this Cluster (three seed nodes are enough). */
  get env(): Record<string, string> {
    return {
      ORCHARD_REDIS_CLUSTER_NODES: this.nodes.slice(0, 3).map((n) => n.address).join(','),
      ...(this.password ? { ORCHARD_REDIS_PASSWORD: this.password } : {}),
      ...(this.tls ? { ORCHARD_REDIS_TLS: 'true', ORCHARD_REDIS_TLS_CA_FILE: this.tls.certFile } : {}),
    };
  }

  /** Resolves once every live node says cluster_state:ok, every slot has a live primary, and every live replica is in sync. */
  async waitHealthy(deadlineMs = 30_000): Promise<void> {
    await poll('the cluster becoming healthy', async () => {
      for (const node of this.nodes.filter((n) => n.alive)) {
        const info = await ask(node, this.password, (c) => c.cluster('INFO') as Promise<string>);
        if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
        const replication = await ask(node, this.password, (c) => c.info('replication'));
        if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
      }
      return true;
    }, deadlineMs);
  }

  /**
   * After `old` (a primary) was killed: resolves once a live replica was promoted for `key`'s slot
   * and the cluster is healthy again; returns the new primary.
   */
  async waitFailover(old: TopologyNode, key: string, deadlineMs = 30_000): Promise<TopologyNode> {
    let found: TopologyNode | undefined;
    await poll('the cluster failover', async () => {
      const now = await this.primaryOf(key);
      found = now;
      return now !== old && now.alive;
    }, deadlineMs);
    await this.waitHealthy(deadlineMs);
    return found!;
  }

  /** The node that is primary for `key`'s slot now, asked of a live node. */
  async primaryOf(key: string): Promise<TopologyNode> {
    const live = this.nodes.find((n) => n.alive)!;
    const slot = await ask(live, this.password, (c) => c.cluster('KEYSLOT', key) as Promise<number>);
    const slots = (await ask(live, this.password, (c) => c.cluster('SLOTS'))) as unknown as [number, number, [string, number], ...unknown[]][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`Topology: no primary holds slot ${slot}`);
    return this.nodes.find((n) => n.port === range[2][1])!;
  }

  /** A Cluster client for assertions, closed by stop(). */
  client(): Cluster {
    const c = new Cluster<'legacy'>(
      this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { protocol: 2, password: this.password, ...(this.tls ? { tls: { ca: this.tls.pem } } : {}) }, clusterRetryStrategy: () => 200, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, maxRedirections: 64 },
    );
    c.on('error', () => {});
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.disconnect();
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SentinelTopologyOptions {
  /** The primary's name the sentinels know it by. */
  readonly name?: string;
  /** requirepass of the data nodes. */
  readonly password?: string;
  /** requirepass of the sentinels. */
  readonly sentinelPassword?: string;
  /** TLS (a self-signed certificate): 'all', the data nodes and the sentinels speak TLS only; 'data', the data nodes only. */
  readonly tls?: 'all' | 'data';
}

/** A primary and one replica, watched by three sentinels (quorum 2). */
export class SentinelTopology {
  readonly clients: Redis[] = [];

  private constructor(
    readonly data: readonly TopologyNode[],
    readonly sentinels: readonly TopologyNode[],
    readonly dir: string,
    readonly name: string,
    readonly password: string | undefined,
    readonly sentinelPassword: string | undefined,
    readonly tls: TestCertificate | undefined,
    readonly sentinelsTls: boolean,
  ) {}

  static async start(options: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
    const dir = mkdtempSync(join(tmpdir(), 'orchard-sentinel-'));
    const name = options.name ?? 'orchard-primary';
    const tls = options.tls ? makeTestCertificate(dir) : undefined;
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const primaryDir = mkdtempSync(join(dir, 'primary-'));
    const replicaDir = mkdtempSync(join(dir, 'replica-'));
    const data = [
      new TopologyNode(primaryPort, primaryDir, dataArgs(primaryPort, primaryDir, options.password, [], tls), options.password, tls),
      new TopologyNode(replicaPort, replicaDir, dataArgs(replicaPort, replicaDir, options.password, ['--replicaof', '127.0.0.1', String(primaryPort)], tls), options.password, tls),
    ];
    const sentinels: TopologyNode[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const sentinelDir = mkdtempSync(join(dir, `sentinel${i}-`));
      const file = join(sentinelDir, 'sentinel.conf');
      // Sentinel rewrites its configuration file, so each has its own.
      writeFileSync(
        file,
        [
          ...(tls && options.tls === 'all' ? ['port 0', `tls-port ${port}`] : [`port ${port}`]),
          // tls-replication: the sentinel reaches the data nodes over TLS.
          ...(tls ? [`tls-cert-file ${tls.certFile}`, `tls-key-file ${tls.keyFile}`, `tls-ca-cert-file ${tls.certFile}`, 'tls-auth-clients no', 'tls-replication yes'] : []),
          'bind 127.0.0.1',
          `dir ${sentinelDir}`,
          'logfile ""',
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
          ...(options.sentinelPassword ? [`requirepass ${options.sentinelPassword}`, `sentinel sentinel-pass ${options.sentinelPassword}`] : []),
          '',
        ].join('\n'),
      );
      sentinels.push(new TopologyNode(port, sentinelDir, [file, '--sentinel'], options.sentinelPassword, options.tls === 'all' ? tls : undefined));
    }
    const topology = new SentinelTopology(data, sentinels, dir, name, options.password, options.sentinelPassword, tls, options.tls === 'all');
    try {
      await data[0]!.start(options.password);
      await data[1]!.start(options.password);
      await poll('the replica syncing', async () => /master_link_status:up/.test(await ask(data[1]!, options.password, (c) => c.info('replication'))));
      await Promise.all(sentinels.map((s) => s.start(options.sentinelPassword)));
      await poll('the sentinels seeing each other and the replica', async () => {
        for (const s of sentinels) {
          const [master] = (await ask(s, options.sentinelPassword, (c) => c.call('SENTINEL', 'MASTERS'))) as string[][];
          const fields = Object.fromEntries(master!.flatMap((_, i, a) => (i % 2 === 0 ? [[a[i], a[i + 1]]] : [])));
          if (Number(fields['num-other-sentinels']) < 2 || Number(fields['num-slaves']) < 1) return false;
        }
        return true;
      });
    } catch (err) {
      await topology.stop();
      throw err;
    }
    return topology;
  }

  /** `host:port,…` of the sentinels, as ORCHARD_REDIS_SENTINELS takes them. */
  get sentinelList(): string {
    return this.sentinels.map((s) => s.address).join(',');
  }

  /** The settings that point Orchard at the primary through the sentinels. */
  get env(): Record<string, string> {
    return {
      ORCHARD_REDIS_SENTINELS: this.sentinelList,
      ORCHARD_REDIS_SENTINEL_NAME: this.name,
      ...(this.password ? { ORCHARD_REDIS_PASSWORD: this.password } : {}),
      ...(this.sentinelPassword ? { ORCHARD_REDIS_SENTINEL_PASSWORD: this.sentinelPassword } : {}),
      ...(this.tls ? { ORCHARD_REDIS_TLS: 'true', ORCHARD_REDIS_TLS_CA_FILE: this.tls.certFile } : {}),
      ...(this.sentinelsTls ? { ORCHARD_REDIS_SENTINEL_TLS: 'true' } : {}),
    };
  }

  /** The primary the sentinels name now (every key is there). */
  primaryOf(_key: string): Promise<TopologyNode> {
    return this.primary();
  }

  /** The data node the sentinels name as the primary now. */
  async primary(): Promise<TopologyNode> {
    const live = this.sentinels.find((s) => s.alive)!;
    const [, port] = (await ask(live, this.sentinelPassword, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name))) as [string, string];
    return this.data.find((n) => n.port === Number(port))!;
  }

  /** Resolves once the sentinels name a live primary other than `old`, and it takes writes. */
  async waitFailover(old: TopologyNode, _key?: string, deadlineMs = 30_000): Promise<TopologyNode> {
    let found: TopologyNode | undefined;
    await poll('the failover', async () => {
      const now = await this.primary();
      if (now === old || !now.alive) return false;
      const role = await ask(now, this.password, (c) => c.call('ROLE') as Promise<string[]>);
      found = now;
      return role[0] === 'master';
    }, deadlineMs);
    return found!;
  }

  /** A client through the sentinels, closed by stop(). */
  client(): Redis {
    const tls = this.tls ? { tls: { ca: this.tls.pem }, enableTLSForSentinelMode: true, ...(this.sentinelsTls ? { sentinelTLS: { ca: this.tls.pem } } : {}) } : {};
    const c = new Redis<'legacy'>({ sentinels: this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), name: this.name, password: this.password, sentinelPassword: this.sentinelPassword, protocol: 2, maxRetriesPerRequest: 20, ...tls });
    c.on('error', () => {});
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.disconnect();
    await Promise.all([...this.sentinels, ...this.data].map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What the test helpers (test-app.ts, connector-harness.ts) need of a Redis: the settings that reach it, and a client for assertions. */
export interface RedisUnderTest {
  readonly env: Record<string, string>;
  client(): Redis | Cluster;
}

/** Stream keys for a test: with a hash tag when the Redis is a Cluster (which insists on one). */
export function testStreamKey(target: RedisUnderTest, unique: string): string {
  return 'ORCHARD_REDIS_CLUSTER_NODES' in target.env ? `{${unique}}:events` : `${unique}:events`;
}
