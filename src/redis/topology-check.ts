import { RedisTopologyError } from '../errors.ts';
import { isCluster, type RedisClient } from './redis-client.ts';

// A plain connection (REDIS_URL) to a node of a Redis Cluster connects, answers PING and takes the
// writes whose keys hash to that node's slots; every other write is answered MOVED. Orchard asks the
// node whether it is in cluster mode (INFO cluster: cluster_enabled:1,
// https://redis.io/docs/latest/commands/info/) and refuses it, naming the setting that reaches a Cluster.

export const clusterThroughUrlMessage =
  'REDIS_URL names a node of a Redis Cluster (cluster_enabled:1): a plain connection writes only to the hash slots that node holds, and every other append would be answered MOVED. ' +
  'Set ORCHARD_REDIS_CLUSTER_NODES=host:port,… (a few of its nodes) instead of REDIS_URL, and give ORCHARD_STREAM a hash tag ({orchard}:events).';

/** Throws RedisTopologyError when a plain connection reached a Redis Cluster node. */
export async function assertNotClusterNode(redis: RedisClient): Promise<void> {
  if (isCluster(redis)) return;
  const info = await redis.info('cluster');
  if (/^cluster_enabled:1\b/m.test(info)) throw new RedisTopologyError(clusterThroughUrlMessage);
}
