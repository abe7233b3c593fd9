import { readFileSync } from 'node:fs';
import { packageJsonUrl } from '../package-root.ts';

// What `orchard --help`, `orchard <command> --help` and `orchard --version` print: one entry per
// command, its usage line, what it does and its options, as common CLIs (git, vector) show them.

export interface CommandHelp {
  /** The usage line after `orchard `. */
  readonly usage: string;
  /** One line for the overview. */
  readonly summary: string;
  /** The rest of `orchard <command> --help`: what it does, its options, an example. */
  readonly details: string;
}

export const commandHelp = {
  serve: {
    usage: 'serve [--config FILE]',
    summary: 'Start Orchard (the default command).',
    details: `Settings come from the environment and the YAML file ORCHARD_CONFIG names (docs/cli.md, the
README's table of settings). SIGTERM or SIGINT shut down gracefully (a second one exits at once);
SIGHUP reloads the connectors from the configuration file and keeps everything else running.

Options:
  --config FILE   the YAML configuration file (sets ORCHARD_CONFIG)

Example:
  ORCHARD_CONFIG=orchard.yaml orchard serve`,
  },
  validate: {
    usage: 'validate [--config FILE]',
    summary: 'Check the whole configuration offline and list every problem.',
    details: `Reads the environment and the configuration file (--config, or ORCHARD_CONFIG) as serve would,
without starting anything or reaching Redis or a vendor, and lists every problem at once.
Exit code 0 when valid, 2 when not.

Options:
  --config FILE   the YAML file to check (default: ORCHARD_CONFIG)

Example:
  orchard validate --config orchard.yaml`,
  },
  test: {
    usage: 'test <connector> [--config FILE]',
    summary: "Check a connector's credentials and permissions and fetch one page without writing.",
    details: `Each failure is named with its cause and remedy (configuration, credentials, permissions, URL,
rate limit, vendor). Nothing is written to Redis.

Options:
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard test acme-jamf`,
  },
  checkpoint: {
    usage: 'checkpoint show|reset <connector> [--since TIME] [--config FILE]',
    summary: "Print or reset a connector's checkpoint.",
    details: `show    prints the connector's checkpoint, remembered versions and lease.
reset   forgets its progress: the next run starts from --since, the connector's start, or the
        beginning (inventories reload in full).

Options:
  --since TIME    with reset: where the next run starts, an RFC 3339 time (2026-11-01T00:00:00Z)
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard checkpoint reset acme-jumpcloud --since 2026-11-01T00:00:00Z`,
  },
  verify: {
    usage: 'verify <connector> --since T [--until T] [--repair] [--config FILE]',
    summary: "Check a connector's closed windows against the vendor's counts; re-pull the short ones.",
    details: `For a JumpCloud Directory Insights connector: each closed window from --since to --until (per
organization and service group) is counted by JumpCloud (POST /insights/directory/v1/events/count) and
compared with what the stream holds of it; one row per window. With --repair, a short window is read
again and each event the stream lacks is appended once, then counted again. Safe beside a running
Orchard. Exit code 0 when every window holds the vendor's count, 1 when one stays short
(docs/completeness.md).

Options:
  --since TIME    the first window: the one that holds this RFC 3339 time (required)
  --until TIME    the last window ends by this time (default: the last closed window)
  --repair        re-pull the short windows
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard verify acme-jumpcloud --since 2026-11-01T00:00:00Z --repair`,
  },
  consume: {
    usage: 'consume --group G [--consumer C] [--from 0|$|ID] [--count N] [--follow] [--config FILE]',
    summary: "Print the stream's entries for a consumer group as JSON lines.",
    details: `Each entry is acknowledged only after it was written; a restart re-delivers the consumer's
unacknowledged entries first. A group that does not exist yet is created at the oldest retained entry,
so a new consumer reads the backlog; --from $ starts it at the end instead.

Options:
  --group G       the consumer group (required)
  --consumer C    the consumer's name in the group (default: the host name)
  --from 0|$|ID   where a NEW group starts: 0 the oldest retained entry (default), $ only entries
                  appended from now on, or an entry id
  --count N       stop after N entries
  --follow        wait for new entries instead of stopping at the end
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard consume --group siem --follow`,
  },
  import: {
    usage: 'import [--type T] [--tenant T] [--config FILE] FILE…',
    summary: 'Import Jamf Pro access, change-management and Compliance Reporter logs.',
    details: `NDJSON, log lines or a JSON array; plain or gzip; - is stdin. Each line once: importing a file again
appends nothing, an interrupted import continues where it stopped.

Options:
  --type T        auto (default), jamf_pro.login, jamf_pro.change_management, jamf_pro.compliance_reporter
  --tenant T      the tenant written on every record
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard import --tenant acme access.log.gz`,
  },
  'jamf-webhooks': {
    usage: 'jamf-webhooks plan|apply <connector> [--events A,B] [--smart-group-id N] [--config FILE]',
    summary: "Make Jamf Pro post its webhook events to Orchard with Orchard's newest secret.",
    details: `Through the Classic API with that Jamf Pro connector's API client, to public_url: plan shows what
would change, apply changes it. A connector whose tenant has secrets of its own
(ORCHARD_WEBHOOK_TENANT_SECRETS) gets that tenant's newest secret.

Options:
  --events A,B          the webhook events (default: the 20 that need no smart group; all 23 with
                        --smart-group-id)
  --smart-group-id N    the smart group the three SmartGroup membership events follow (the number in
                        the group's address in Jamf Pro)
  --config FILE         the YAML configuration file (default: ORCHARD_CONFIG)

Example:
  orchard jamf-webhooks plan acme-jamf`,
  },
  secret: {
    usage: 'secret [--tenant T] [--config FILE]',
    summary: 'Print the Jamf Pro "Header Authentication" JSON for the newest webhook secret.',
    details: `The newest secret is the last of ORCHARD_WEBHOOK_SECRETS (old,new during a rotation), or the one
Orchard generated in its data directory. jamf-webhooks apply hands Jamf Pro the same one.

Options:
  --tenant T      the newest of tenant T's secrets (ORCHARD_WEBHOOK_TENANT_SECRETS, docs/tenants.md)
  --config FILE   the YAML configuration file (default: ORCHARD_CONFIG)`,
  },
  top: {
    usage: 'top [--url URL] [--interval DURATION] [--config FILE]',
    summary: 'A live view of a running Orchard: routes, connectors, spool, consumer groups.',
    details: `Reads /status and /metrics every second from the admin port (ORCHARD_ADMIN_PORT), or the main port
when there is no admin port. Quit with q or Ctrl-C.

Options:
  --url URL              where Orchard's /status is served (default: from the configuration,
                         http://127.0.0.1:<admin port or port>)
  --interval DURATION    refresh interval (default 1s)
  --config FILE          the YAML configuration file, for the default --url (default: ORCHARD_CONFIG)

Example:
  orchard top --url http://127.0.0.1:9203`,
  },
  help: {
    usage: 'help [command]',
    summary: 'Show this text, or a command\'s usage.',
    details: '',
  },
} as const satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof commandHelp;

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(commandHelp, name);
}

/** `orchard --help`: every command with its summary. */
export function overviewText(): string {
  const width = Math.max(...Object.keys(commandHelp).map((n) => n.length)) + 2;
  const lines = Object.entries(commandHelp).map(([name, h]) => `  ${name.padEnd(width)}${h.summary}`);
  return [
    'Usage: orchard [command] [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help       show this text, or with a command, its usage',
    '  -v, --version    print the version',
    '',
    "Run 'orchard <command> --help' for a command's options. Docs: docs/cli.md.",
  ].join('\n');
}

/** `orchard <command> --help`. */
export function commandText(name: CommandName): string {
  const help: CommandHelp = commandHelp[name];
  return `Usage: orchard ${help.usage}\n\n${help.summary}${help.details ? `\n\n${help.details}` : ''}`;
}

/** `orchard 0.1.0`: the name and version from package.json. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}
