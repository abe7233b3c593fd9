// A generated corpus of Jamf Compliance Reporter events, deterministic from a seed, shaped like the
// events Compliance Reporter writes (Jamf's log data examples, Elastic's pipeline samples): audit
// events (AUE_*) with header, identity, subject, return and the parts each audit event carries, and
// the Compliance Reporter events (APP_METRICS, LICENSE_INFO_EVENT, FILE_EVENT, HARDWARE_EVENT, …).
// Numbers come as strings and booleans as 0/1 in some events, optional fields are sometimes null, and
// some events carry a field Orchard does not know, as Compliance Reporter does.
//
// Each event comes with what a correct reader must make of it, worked out here independently of the
// code under test: its type, its time and its indicators.

import type { IndicatorKind } from '../../src/indicators/indicator-extractor.ts';
import { mulberry32 } from '../mocks/jamf-pro-server.ts';

export interface GeneratedComplianceReporterEvent {
  /** The JSON text as sent (one line). */
  readonly text: string;
  readonly event: Record<string, unknown>;
  readonly eventName: string;
  readonly timeMs: number;
  /** Expected indicators: kind → sorted, distinct, normalised values. */
  readonly indicators: Partial<Record<IndicatorKind, string[]>>;
}

export interface CorpusOptions {
  readonly seed: number;
  readonly count: number;
}

/** A property Compliance Reporter adds that the schema does not know: accepted and kept. */
export const unknownPropertyName = 'orchard_test_unknown_field';

type Json = Record<string, unknown>;

const prng = mulberry32;

class Gen {
  readonly #random: () => number;
  readonly expected = new Map<IndicatorKind, Set<string>>();
  /** This event writes numbers as strings and booleans as 0/1 where Compliance Reporter may. */
  loose = false;
  /** Every optional part and field is present (the first pass over the builders). */
  full = false;

  constructor(random: () => number) {
    this.#random = random;
  }

  float(): number {
    return this.#random();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.#random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }
  hex(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += '0123456789abcdef'[this.int(0, 15)];
    return s;
  }
  word(): string {
    return this.pick(['alpha', 'bravo', 'dan', 'presentation', 'staff', 'kiosk', 'ops', 'build', 'root', 'jane', 'ömer', '李雷']);
  }

  expect(kind: IndicatorKind, value: string): void {
    let set = this.expected.get(kind);
    if (!set) this.expected.set(kind, (set = new Set()));
    set.add(value);
  }

  /** An optional field: present in full events, else most of the time; sometimes null. */
  optional(object: Json, key: string, value: () => unknown): void {
    if (this.full) {
      object[key] = value();
      return;
    }
    if (this.chance(0.25)) return;
    object[key] = this.chance(0.05) ? null : value();
  }

  /** An integer, or its decimal string in loose events. */
  num(n: number): number | string {
    return this.loose && this.chance(0.5) ? String(n) : n;
  }
  /** A Panther boolean: true/false, or 1/0 in loose events. */
  bool(): boolean | number {
    const b = this.chance(0.3);
    return this.loose && this.chance(0.5) ? (b ? 1 : 0) : b;
  }

  ip(): string {
    const r = this.int(0, 9);
    if (r < 5) {
      const ip = `${this.int(1, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
      this.expect('ip', ip);
      return ip;
    }
    if (r < 8) {
      const groups = Array.from({ length: 8 }, () => this.hex(4));
      const ip = groups.join(':');
      const written = this.chance(0.5) ? ip.toUpperCase() : ip;
      this.expect('ip', ip);
      return written;
    }
    // Not an address: dropped from the indicators.
    return this.pick(['', 'unknown', '999.1.2.3', '10.0.0.1/24']);
  }
  mac(): string {
    const bytes = Array.from({ length: 6 }, () => this.hex(2));
    const sep = this.chance(0.3) ? '-' : ':';
    const written = bytes.join(sep);
    this.expect('mac', bytes.join(':'));
    return this.chance(0.5) ? written.toUpperCase() : written;
  }
  sha1(): string {
    if (this.chance(0.1)) return ''; // Compliance Reporter writes "" when it has no hash: dropped.
    const h = this.hex(40);
    this.expect('sha1', h);
    return this.chance(0.6) ? h.toUpperCase() : h;
  }
  /** An indicator that is kept as written (username, actor_id, trace_id). */
  keep(kind: IndicatorKind, value: string | number): string | number {
    this.expect(kind, String(value));
    return value;
  }
}

interface Builder {
  readonly name: string;
  build(g: Gen, event: Json, header: Json): void;
}

function hostInfo(g: Gen): Json {
  const host: Json = {};
  g.optional(host, 'host_name', () => `${g.word()}_macbook_pro`);
  g.optional(host, 'host_uuid', () => `${g.hex(8)}-${g.hex(4)}-${g.hex(4)}-${g.hex(4)}-${g.hex(12)}`.toUpperCase());
  g.optional(host, 'osversion', () => g.pick(['Version 10.15 (Build 19A582a)', 'macOS 14.4 (Build 23E214)', 'Version 10.14.6 (Build 18G95)']));
  g.optional(host, 'primary_mac_address', () => g.mac());
  g.optional(host, 'serial_number', () => `C0${g.hex(10).toUpperCase()}`);
  return host;
}

function terminal(g: Gen): Json {
  const t: Json = {};
  g.optional(t, 'addr', () => Array.from({ length: g.int(1, 4) }, () => g.num(g.int(0, 2 ** 31))));
  g.optional(t, 'ip_address', () => g.ip());
  g.optional(t, 'port', () => g.num(g.pick([0, 5033, 1234, g.int(1, 65535)])));
  g.optional(t, 'type', () => g.num(g.pick([0, 4, 6])));
  return t;
}

/** `subject` or `process`: the same fields, with their indicators. */
function actor(g: Gen, forBlockedApp: boolean): Json {
  const a: Json = {};
  const uid = g.pick([0, 502, 503, 266, 4294967295]);
  const user = uid === 0 ? 'root' : g.word();
  g.optional(a, 'audit_id', () => g.keep('actor_id', g.num(g.pick([uid, 4294967295]))));
  g.optional(a, 'audit_user_name', () => g.keep('username', g.pick([user, '-1'])));
  g.optional(a, 'effective_group_id', () => g.num(g.pick([0, 20, 266])));
  g.optional(a, 'effective_group_name', () => g.pick(['wheel', 'staff', '_timed']));
  g.optional(a, 'effective_user_id', () => g.keep('actor_id', g.num(uid)));
  g.optional(a, 'effective_user_name', () => g.keep('username', user));
  g.optional(a, 'group_id', () => g.num(g.pick([0, 20])));
  g.optional(a, 'group_name', () => g.pick(['wheel', 'staff']));
  g.optional(a, 'process_hash', () => g.sha1());
  g.optional(a, 'process_id', () => g.num(g.int(1, 99999)));
  g.optional(a, 'process_name', () => g.pick(['/usr/libexec/xpcproxy', '/bin/zsh', '/usr/sbin/cupsd', '/Applications/Xcode.app/Contents/MacOS/Xcode']));
  if (forBlockedApp || g.full || g.chance(0.3)) {
    g.optional(a, 'process_information', () => (g.chance(0.5) ? {} : { bundle_id: 'com.example.app', signed: g.bool() }));
    g.optional(a, 'responsible_process_id', () => g.num(g.int(1, 99999)));
    g.optional(a, 'responsible_process_name', () => g.pick(['', '/sbin/launchd', '/usr/libexec/xpcproxy']));
  }
  g.optional(a, 'session_id', () => g.keep('trace_id', g.num(g.pick([100000, 100007, 100011, g.int(100000, 999999)]))));
  g.optional(a, 'terminal_id', () => terminal(g));
  g.optional(a, 'user_id', () => g.keep('actor_id', g.num(uid)));
  g.optional(a, 'user_name', () => g.keep('username', user));
  return a;
}

function identity(g: Gen): Json {
  const i: Json = {};
  g.optional(i, 'cd_hash', () => g.sha1());
  g.optional(i, 'signer_id', () => g.pick(['com.apple.zsh', 'com.apple.timed', 'com.noodlesoft.hazelworker']));
  g.optional(i, 'signer_id_truncated', () => g.bool());
  g.optional(i, 'signer_type', () => g.num(g.int(0, 1)));
  g.optional(i, 'team_id', () => g.pick(['', '86Z3GCJ4MF', 'UBF8T346G9']));
  g.optional(i, 'team_id_truncated', () => g.bool());
  return i;
}

function returned(g: Gen): Json {
  const r: Json = {};
  g.optional(r, 'description', () => g.pick(['success', 'failure : Operation now in progress']));
  g.optional(r, 'error', () => g.num(g.pick([0, 150])));
  g.optional(r, 'return_value', () => g.num(g.pick([0, 7, 72350, 4294967295])));
  return r;
}

function execArgs(g: Gen): Json {
  const args = ['/usr/bin/curl', '-s', `https://example.com/${g.hex(6)}`].slice(0, g.int(1, 3));
  const e: Json = {};
  g.optional(e, 'args', () => Object.fromEntries(args.map((v, i) => [String(i + 1), v])));
  g.optional(e, 'args_compiled', () => args.join(','));
  return e;
}

function execEnv(g: Gen): Json {
  const env = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', SHELL: '/bin/zsh', XPC_FLAGS: '0x0' };
  const e: Json = {};
  g.optional(e, 'env', () => env);
  g.optional(e, 'env_compiled', () => Object.entries(env).map(([k, v]) => `${k}=${v}`).join(','));
  return e;
}

function execChainChild(g: Gen): Json {
  const c: Json = {};
  g.optional(c, 'parent_path', () => g.pick(['/sbin/launchd', '/bin/zsh', '/usr/libexec/automountd']));
  g.optional(c, 'parent_pid', () => g.num(g.int(1, 99999)));
  g.optional(c, 'parent_uuid', () => `${g.hex(8)}-${g.hex(4)}-${g.hex(4)}-${g.hex(4)}-${g.hex(12)}`.toUpperCase());
  return c;
}

function audit(name: string, eventId: number, extra: (g: Gen, event: Json) => void): Builder {
  return {
    name,
    build(g, event, header) {
      header.event_id = g.num(eventId);
      header.event_modifier = g.num(0);
      header.version = g.num(11);
      event.identity = identity(g);
      event.subject = actor(g, false);
      event.return = returned(g);
      extra(g, event);
    },
  };
}

function licenseInfo(g: Gen): Json {
  const l: Json = {};
  g.optional(l, 'email', () => {
    const user = g.word();
    const domain = g.pick(['Example.COM', 'example.org']);
    g.expect('email', `${user}@${domain}`.toLowerCase());
    return `${user}@${domain}`;
  });
  g.optional(l, 'expiration_date', () => `${String(g.int(1, 12)).padStart(2, '0')}/${String(g.int(1, 28)).padStart(2, '0')}/${g.int(2019, 2030)}`);
  g.optional(l, 'status', () => g.pick(['valid', 'expired']));
  g.optional(l, 'time_seconds_epoch', () => (g.loose ? String(g.int(1.5e9, 1.8e9)) : g.int(1.5e9, 1.8e9)));
  g.optional(l, 'type', () => g.pick(['trial', 'Annual']));
  g.optional(l, 'version', () => '1');
  return l;
}

const fileFlags = [
  'eventid_wrapped', 'history_done', 'item_change_owner', 'item_cloned', 'item_created', 'item_extended_attribute_modified',
  'item_finder_info_modified', 'item_inode_metadata_modified', 'item_is_directory', 'item_is_file', 'item_is_hard_link',
  'item_is_last_hard_link', 'item_is_sym_link', 'item_removed', 'item_renamed', 'item_updated', 'kernel_dropped', 'mount',
  'must_scan_sub_dir', 'none', 'own_event', 'root_changed', 'unmount', 'user_dropped',
];

function fileEvent(name: string): Builder {
  return {
    name,
    build(g, event) {
      const f: Json = {};
      for (const flag of fileFlags) g.optional(f, flag, () => g.bool());
      g.optional(f, 'hash', () => g.sha1());
      g.optional(f, 'path', () => g.pick(['/Library/Preferences/com.jamf.compliancereporter.plist', '/private/var/root/Library/x.db-journal']));
      event.file_event_info = f;
    },
  };
}

function eventAttributes(name: string, attributes: (g: Gen) => unknown): Builder {
  return {
    name,
    build(g, event) {
      event.event_attributes = attributes(g);
    },
  };
}

const builders: readonly Builder[] = [
  audit('AUE_EXECVE', 23, (g, e) => {
    g.optional(e, 'attributes', () => ({ device: 0, file_access_mode: 33261, node_id: g.int(1, 1e7), owner_user_name: 'root' }));
    g.optional(e, 'exec_args', () => execArgs(g));
    g.optional(e, 'exec_env', () => execEnv(g));
    g.optional(e, 'exec_chain', () => [{ pid: g.int(1, 99999), path: '/sbin/launchd' }, { pid: g.int(1, 99999), path: '/bin/zsh' }]);
    g.optional(e, 'exec_chain_child', () => execChainChild(g));
    g.optional(e, 'path', () => ['/usr/libexec/od_user_homes', '/usr/libexec/od_user_homes']);
  }),
  audit('AUE_CONNECT', 32, (g, e) => {
    g.optional(e, 'arguments', () => ({ fd: g.int(3, 64) }));
    const s: Json = {};
    g.optional(s, 'addr', () => [g.num(g.int(0, 2 ** 31))]);
    g.optional(s, 'family', () => g.num(2));
    g.optional(s, 'id', () => g.num(128));
    g.optional(s, 'ip_address', () => g.ip());
    g.optional(s, 'port', () => g.num(g.int(1, 65535)));
    e.socket_inet = s;
  }),
  audit('AUE_ACCEPT', 33, (g, e) => {
    g.optional(e, 'arguments', () => ({ fd: g.int(3, 64) }));
    const s: Json = {};
    g.optional(s, 'family', () => g.num(1));
    g.optional(s, 'path', () => g.pick(['', '/var/run/mDNSResponder']));
    e.socket_unix = s;
    g.optional(e, 'path', () => ['//']);
  }),
  audit('AUE_EXIT', 1, (g, e) => {
    g.optional(e, 'exec_chain_child', () => execChainChild(g));
    const x: Json = {};
    g.optional(x, 'return_value', () => g.num(0));
    g.optional(x, 'status', () => g.num(g.pick([0, 1])));
    e.exit = x;
  }),
  audit('AUE_FORK', 2, (g, e) => {
    g.optional(e, 'arguments', () => ({ child_PID: g.int(1, 99999) }));
    const p: Json = {};
    g.optional(p, 'uuid', () => `${g.hex(8)}-${g.hex(4)}-${g.hex(4)}-${g.hex(4)}-${g.hex(12)}`.toUpperCase());
    e.exec_chain_parent = p;
  }),
  audit('AUE_KILL', 15, (g, e) => {
    g.optional(e, 'arguments', () => ({ signal: 0 }));
    e.process = actor(g, false);
  }),
  audit('AUE_auth_user', 45023, (g, e) => {
    g.optional(e, 'texts', () => ['Touch ID authentication']);
  }),
  {
    name: 'APP_METRICS',
    build(g, e) {
      const m: Json = {};
      g.optional(m, 'cpu_percentage', () => (g.loose ? String(g.float() * 100) : g.float() * 100));
      g.optional(m, 'cpu_time_seconds', () => g.float() * 5000);
      g.optional(m, 'interrupt_wakeups', () => g.num(g.int(0, 10000)));
      g.optional(m, 'platform_idle_wakeups', () => g.num(g.int(0, 10000)));
      g.optional(m, 'resident_memory_size_mb', () => g.float() * 1024);
      g.optional(m, 'virtual_memory_size_mb', () => g.float() * 4096);
      e.app_metric_info = m;
    },
  },
  {
    name: 'AUDIO_VIDEO_DEVICE_EVENT',
    build(g, e) {
      const a: Json = {};
      g.optional(a, 'audio_device_creator', () => 'com.apple.audio.CoreAudio');
      g.optional(a, 'audio_device_hog_mode', () => g.num(-1));
      g.optional(a, 'audio_device_id', () => g.num(g.int(1, 200)));
      g.optional(a, 'audio_device_manufacturer', () => 'Blue Microphones');
      g.optional(a, 'audio_device_running', () => g.num(g.int(0, 1)));
      g.optional(a, 'audio_device_uuid', () => 'AppleUSBAudioEngine:Blue Microphones:Yeti Stereo Microphone:797:2');
      g.optional(a, 'device_status', () => g.pick(['On', 'Off', 'off']));
      e.audio_video_device_info = a;
    },
  },
  {
    name: 'AUDIT_CLASS_VERIFICATION_EVENT',
    build(g, e) {
      const a: Json = {};
      g.optional(a, 'contents', () => '#\n0x00000000:no:invalid class\n0x00000001:fr:file read\n');
      g.optional(a, 'osversion', () => 'Version 10.15 (Build 19A582a)');
      g.optional(a, 'restored_default', () => g.bool());
      g.optional(a, 'status', () => g.num(g.int(0, 3)));
      g.optional(a, 'status_str', () => g.pick(['unknown', 'ok']));
      e.audit_class_verification_info = a;
    },
  },
  {
    name: 'LICENSE_INFO_EVENT',
    build(g, e) {
      e.compliancereporter_license_info = licenseInfo(g);
    },
  },
  {
    name: 'LICENSE_INFO_EVENT',
    build(g, e) {
      // Elastic's sample spells the object this way.
      e.ComplianceReporter_license_info = licenseInfo(g);
    },
  },
  fileEvent('COMPLIANCEREPORTER_TAMPER_EVENT'),
  fileEvent('FILE_EVENT'),
  eventAttributes('GATEKEEPER_INFO_EVENT', (g) => ({ assessments_enabled: g.int(0, 1), dev_id_enabled: 1, opaque_version: '181', version: '8.0' })),
  eventAttributes('PRINT_EVENT_INFORMATION', (g) => ({ job_id: g.int(1, 999), job_state: 'processing', job_title: 'Untitled 2', job_user: g.word() })),
  eventAttributes('UNIFIED_LOG_EVENT', (g) => ({ category: 'AHP', eventMessage: 'Returning value 1', processID: g.int(1, 9999), source: null, traceID: g.int(1, 2 ** 40) })),
  {
    name: 'HARDWARE_EVENT',
    build(g, e) {
      const h: Json = {};
      g.optional(h, 'device_attributes', () => ({ IOClassNameOverride: 'IOUSBDevice', 'USB Product Name': 'Hub Controller', iSerialNumber: 0 }));
      g.optional(h, 'device_class', () => 'IOUSBDevice');
      g.optional(h, 'device_name', () => 'Hub Controller');
      g.optional(h, 'device_status', () => g.pick(['connected', 'disconnected']));
      e.hardware_event_info = h;
    },
  },
  {
    name: 'PROHIBITED_APP_BLOCKED',
    build(g, e, header) {
      header.action = g.pick(['Deny', 'Allow']);
      e.exec_args = execArgs(g);
      e.exec_env = execEnv(g);
      e.identity = identity(g);
      e.subject = actor(g, true);
      g.optional(e, 'texts', () => [`matched team signing id: ${g.hex(10).toUpperCase()}`]);
    },
  },
  {
    name: 'SIGNAL_EVENT',
    build(g, e) {
      const s: Json = {};
      g.optional(s, 'signal', () => g.num(g.pick([9, 15])));
      e.signal_event_info = s;
    },
  },
];

/** Names of the events the corpus produces. */
export const corpusEventNames = [...new Set(builders.map((b) => b.name))];

/** JSON with a space after every `:` and `,`, as some senders write it (Elastic's APP_METRICS sample). */
function spaced(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spaced).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${spaced(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

const minSeconds = Date.UTC(2019, 0, 1) / 1000;
const maxSeconds = Date.UTC(2027, 0, 1) / 1000;

/**
 * `count` events. The first pass goes through every builder with every optional part present, so any
 * count of at least `builders.length` covers every field; later events pick builders and fields at
 * random.
 */
export function complianceReporterCorpus({ seed, count }: CorpusOptions): GeneratedComplianceReporterEvent[] {
  const random = prng(seed);
  const out: GeneratedComplianceReporterEvent[] = [];
  for (let n = 0; n < count; n++) {
    const g = new Gen(random);
    const full = n < builders.length;
    const builder = full ? builders[n]! : g.pick(builders);
    g.full = full;
    g.loose = n % 3 === 1;
    const seconds = g.int(minSeconds, maxSeconds);
    const audit = builder.name.startsWith('AUE_');
    const offset = audit ? g.int(0, 999) : undefined;
    const header: Json = { event_name: builder.name };
    const event: Json = { _event_score: g.num(g.pick([0, 2, 10])), header };
    builder.build(g, event, header);
    header.time_seconds_epoch = g.loose && g.chance(0.5) ? String(seconds) : seconds;
    if (offset !== undefined) header.time_milliseconds_offset = g.num(offset);
    event.host_info = hostInfo(g);
    if (n % 7 === 3) event[unknownPropertyName] = { added_by: 'a newer Compliance Reporter', n };
    const text = n % 5 === 4 ? spaced(event) : JSON.stringify(event);
    const indicators: Partial<Record<IndicatorKind, string[]>> = {};
    for (const [kind, values] of g.expected) indicators[kind] = [...values].sort();
    out.push({ text, event, eventName: builder.name, timeMs: seconds * 1000 + (offset ?? 0), indicators });
  }
  return out;
}
