import type { Server } from 'node:http';
import type { BlockList, Socket } from 'node:net';
import { addressList, listHolds, plainAddress } from '../config/address-list.ts';

// Who may hold connections open, decided when a connection is accepted, before a byte of it is read.
//
// An address may hold at most `perAddress` connections that have not yet presented a valid credential
// (an attacker's, a scanner's, or a slowloris's idle sockets); past that, its new connections are closed
// at once, which costs a small fraction of answering them. A connection that authenticates stops
// counting. An address that presented a valid credential recently (Jamf Cloud's few sending addresses,
// learned from their own traffic) escapes the budget, and so do the configured trusted addresses
// (`trusted_addresses`, CIDRs): a burst of new connections from Jamf is never refused because a
// stranger is flooding. The total of connections is capped too (`max_connections`), and a tenth of it
// is kept for the exempt addresses: a flood from many addresses that fills the rest still leaves Jamf
// room. (Node's own server.maxConnections would refuse Jamf as readily as the flood, so it is not used.)

const kCounted = Symbol('orchard.unauthenticatedCounted');
type GuardedSocket = Socket & { [kCounted]?: string };

/** How long an address that authenticated stays exempt: long enough to cover quiet spells between webhooks. */
const learnedForMs = 30 * 60 * 1000;
/** Addresses remembered as authenticated; the oldest are forgotten first. */
const maxLearned = 4096;
/** The share of max_connections that only exempt addresses may use. */
const exemptShare = 0.1;

export interface ConnectionGuardOptions {
  /** Connections one address may hold before it authenticates; 0 turns the budget off. */
  readonly perAddress: number;
  /** CIDRs (or single addresses) exempt from the budget. */
  readonly trusted: readonly string[];
  /** Told of each connection refused. */
  readonly onRefused?: (address: string) => void;
  readonly now?: () => number;
}

export class ConnectionGuard {
  readonly #perAddress: number;
  readonly #trusted: BlockList;
  readonly #hasTrusted: boolean;
  readonly #unauthenticated = new Map<string, number>();
  readonly #learned = new Map<string, number>();
  readonly #onRefused: ((address: string) => void) | undefined;
  readonly #now: () => number;
  #total = 0;
  #max = 0;
  #maxForStrangers = 0;

  constructor(options: ConnectionGuardOptions) {
    this.#perAddress = options.perAddress;
    this.#trusted = addressList(options.trusted);
    this.#hasTrusted = options.trusted.length > 0;
    this.#onRefused = options.onRefused;
    this.#now = options.now ?? Date.now;
  }

  /** Watches a server's connections (call before it listens); `maxConnections` 0 means no total cap. */
  attach(server: Server, maxConnections: number): void {
    this.#max = maxConnections;
    this.#maxForStrangers = maxConnections - Math.ceil(maxConnections * exemptShare);
    if (this.#perAddress > 0 || maxConnections > 0) server.on('connection', (socket: Socket) => this.#accept(socket));
  }

  /** Connections open on the watched server (for tests and /status). */
  get total(): number {
    return this.#total;
  }

  /** Marks the connection's address as one that sent a valid credential; the connection stops counting. */
  authenticated(socket: Socket): void {
    if (socket.remoteAddress === undefined) return;
    const address = plainAddress(socket.remoteAddress);
    this.#uncount(socket as GuardedSocket);
    this.#learned.delete(address);
    if (this.#learned.size >= maxLearned) this.#learned.delete(this.#learned.keys().next().value!);
    this.#learned.set(address, this.#now());
  }

  /** Connections not yet authenticated, per address (for tests and /status). */
  unauthenticated(address: string): number {
    return this.#unauthenticated.get(plainAddress(address)) ?? 0;
  }

  #exempt(address: string): boolean {
    const learnedAt = this.#learned.get(address);
    if (learnedAt !== undefined) {
      if (this.#now() - learnedAt < learnedForMs) return true;
      this.#learned.delete(address);
    }
    return this.#hasTrusted && listHolds(this.#trusted, address);
  }

  #accept(socket: GuardedSocket): void {
    const address = plainAddress(socket.remoteAddress ?? '');
    const exempt = this.#exempt(address);
    if (this.#max > 0 && this.#total >= (exempt ? this.#max : this.#maxForStrangers)) return this.#refuse(socket, address);
    if (!exempt && this.#perAddress > 0) {
      const held = this.#unauthenticated.get(address) ?? 0;
      if (held >= this.#perAddress) return this.#refuse(socket, address);
      this.#unauthenticated.set(address, held + 1);
      socket[kCounted] = address;
    }
    this.#total++;
    socket.once('close', () => {
      this.#total--;
      this.#uncount(socket);
    });
  }

  #refuse(socket: Socket, address: string): void {
    socket.destroy();
    this.#onRefused?.(address);
  }

  #uncount(socket: GuardedSocket): void {
    const address = socket[kCounted];
    if (address === undefined) return;
    socket[kCounted] = undefined;
    const held = (this.#unauthenticated.get(address) ?? 1) - 1;
    if (held <= 0) this.#unauthenticated.delete(address);
    else this.#unauthenticated.set(address, held);
  }
}
