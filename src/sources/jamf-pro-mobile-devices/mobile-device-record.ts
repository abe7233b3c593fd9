import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { sha256 } from '../../sha256.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { formatTime } from '../../stream/stream-record.ts';
import { parseReportDate } from '../jamf-pro-inventory/inventory-record.ts';
import type { ItemContext } from '../jamf-pro/jamf-pro-scan-source.ts';

export const mobileDevicesSource = 'jamf_pro.mobile_devices';

const extractor = new IndicatorExtractor(readSchema('jamf-pro-mobile-devices/mobile-device.schema.json'));

/** The device's Jamf id (`mobileDeviceId`, a string in the JSON; a number is taken too), or undefined. */
export function mobileDeviceIdOf(device: Record<string, unknown>): string | undefined {
  const raw = device.mobileDeviceId;
  if ((typeof raw !== 'string' || raw === '') && typeof raw !== 'number') return undefined;
  return String(raw);
}

/**
 * The page record of one mobile device, the way the computer inventory makes one of a computer: id =
 * device id + `:` + general.lastInventoryUpdateDate as Jamf wrote it (+ `:sha256:<hash>` without one),
 * the versions hash comparing the update time as a date; undefined when it has no id.
 */
export function mobileDeviceRecord(device: Record<string, unknown>, context: ItemContext): PageRecord | undefined {
  const deviceId = mobileDeviceIdOf(device);
  if (deviceId === undefined) return undefined;
  const payload = JSON.stringify(device);
  const general = device.general as Record<string, unknown> | null | undefined;
  const updated = general && typeof general === 'object' ? general.lastInventoryUpdateDate : undefined;
  const updatedMs = parseReportDate(updated);
  const hash = updatedMs === undefined ? sha256(payload, 'hex').slice(0, 32) : '';
  return {
    record: {
      id: updatedMs === undefined ? `${deviceId}:sha256:${hash}` : `${deviceId}:${updated as string}`,
      source: mobileDevicesSource,
      type: 'mobile_device',
      tenant: context.tenant,
      connector: context.connector,
      time: formatTime(updatedMs ?? context.receivedMs),
      received: formatTime(context.receivedMs),
      payload,
      indicators: JSON.stringify(extractor.extract(device)),
    },
    versionField: deviceId,
    versionValue: updatedMs === undefined ? `sha256:${hash}` : String(updatedMs),
    append: context.sinceMs === undefined || updatedMs === undefined || updatedMs >= context.sinceMs,
  };
}
