// The kinds of Jamf Pro log lines Orchard takes (push route and `orchard import`), their source names
// in the stream, and how a line's kind is told from its first bytes. The one list of line prefixes:
// the parser (log-records.ts), the file reader (log-file-reader.ts) and the import's detection use it.

export const loginSource = 'jamf_pro.login';
export const changeManagementSource = 'jamf_pro.change_management';
export const complianceReporterSource = 'jamf_pro.compliance_reporter';
/** `source` of a refused line whose kind could not be told. */
export const unknownLogSource = 'jamf_pro.logs';

/** How Jamf Pro's Log Stream starts each kind of plain line. */
export const logLinePrefixes = {
  access: '[JSSACCESSLOG]',
  change: '[CHANGEMANAGEMENT]',
} as const;

/** A regular expression that matches `text` literally. */
export function literalPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An S3 delivery of a plain line: `{"time": …, "message": "<line>"}`. */
const wrapped = (prefix: string) => new RegExp(`"message"\\s*:\\s*"${literalPattern(prefix)}`);
const wrappedAccess = wrapped(logLinePrefixes.access);
const wrappedChange = wrapped(logLinePrefixes.change);
/** A Compliance Reporter event: a JSON object with a `header` object. */
const crHeader = /"header"\s*:\s*\{/;

/**
 * The source a line looks like it belongs to, from its first bytes, without parsing it (also for a
 * truncated or otherwise broken line); undefined when it cannot be told.
 */
export function detectLogSource(text: string): string | undefined {
  const start = text.trimStart();
  if (start.startsWith(logLinePrefixes.access)) return loginSource;
  if (start.startsWith(logLinePrefixes.change)) return changeManagementSource;
  if (!start.startsWith('{')) return undefined;
  const head = start.length > 4096 ? start.slice(0, 4096) : start;
  if (wrappedAccess.test(head)) return loginSource;
  if (wrappedChange.test(head)) return changeManagementSource;
  if (crHeader.test(head)) return complianceReporterSource;
  return undefined;
}
