// What a line sent to the Jamf Protect alerts route is. A Jamf Protect action configuration's HTTP data
// endpoint can carry alerts, unified logs and telemetry to the same URL (its `supportedReports`:
// AlertHigh…AlertInformational, UnifiedLogging, Telemetry; Jamf-Concepts/terraform-provider-jamfprotect
// internal/resources/action_configuration/input_builders.go), so the shapes are told apart:
//   - an alert: `{caid, certid, input: {eventType, host, match, related}}` (jamf/jamfprotect
//     json_samples_and_schemas/alerts/samples/). A unified log filter's match comes in this envelope too,
//     `input.eventType: GPUnifiedLogEvent` (Jamf files its sample under alerts/, and Elastic's and Google
//     SecOps' Jamf Protect parsers take it as an alert): it is taken as an alert;
//   - telemetry, Jamf Protect's BSM audit format: `header.event_name` (AUE_EXECVE, …), `host_info`,
//     `_event_score` (json_samples_and_schemas/telemetry/samples/): the format of Jamf Compliance
//     Reporter, which the logs route takes;
//   - telemetry in the Endpoint Security format: a top-level `event` object named by its one key
//     (`exec`, `authentication`, …; Azure/Azure-Sentinel Solutions/Jamf Protect/Parsers/JamfProtectTelemetry.yaml);
//   - a bare unified log entry (`composedMessage`, `subsystem`, `processImagePath` at the top level).

export type ProtectDataKind =
  | { readonly kind: 'alert' }
  | { readonly kind: 'telemetry'; readonly eventName: string }
  | { readonly kind: 'telemetry_es'; readonly event: string }
  | { readonly kind: 'unified_log' }
  | { readonly kind: 'unknown' };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function protectDataKind(document: unknown): ProtectDataKind {
  if (!isObject(document)) return { kind: 'unknown' };
  if (isObject(document.input)) return { kind: 'alert' };
  const header = document.header;
  if (isObject(header) && typeof header.event_name === 'string') return { kind: 'telemetry', eventName: header.event_name };
  const event = document.event;
  if (isObject(event) && Object.keys(event).length === 1) return { kind: 'telemetry_es', event: Object.keys(event)[0]! };
  if (typeof document.composedMessage === 'string' || (typeof document.subsystem === 'string' && typeof document.processImagePath === 'string')) return { kind: 'unified_log' };
  return { kind: 'unknown' };
}
