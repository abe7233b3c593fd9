import { atLeast } from '../jamf-pro/jamf-pro-api.ts';
import { JamfProScanSource, type ItemContext } from '../jamf-pro/jamf-pro-scan-source.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { mobileDeviceIdOf, mobileDeviceRecord, mobileDevicesSource } from './mobile-device-record.ts';
import type { MobileDevicesSettings } from './settings.ts';

/**
 * `GET /api/v2/mobile-devices/detail` (privilege Read Mobile Devices; not deprecated in any schema from
 * 11.23.2 to 11.30.1): every section asked for, sorted by `mobileDeviceId` (sort and filter names are
 * flat on this endpoint, not dotted), `exception-handling=LENIENT` from Jamf Pro 11.29 (the default,
 * STRICT, answers 500 for a whole page when one device has data Jamf cannot read; LENIENT answers it
 * with that section null).
 */
export const mobileDevicesPath = '/api/v2/mobile-devices/detail';

/** Jamf Pro takes `exception-handling` from 11.29.0 (absent from the 11.28.0 schema). */
const exceptionHandlingSince = [11, 29, 0] as const;

/** Jamf Pro mobile devices (`type: jamf_pro.mobile_devices`): iPhones, iPads, Apple TVs, read the way the inventory reads computers. */
export class JamfProMobileDevicesSource extends JamfProScanSource<MobileDevicesSettings> {
  protected readonly streamSource = mobileDevicesSource;
  protected readonly noun = 'mobile devices';
  protected readonly reading = 'mobile devices';
  #lenient = true;

  protected async choosePath(signal: AbortSignal): Promise<string> {
    const server = await this.api.serverVersion(signal);
    // An unknown version gets LENIENT too: Jamf Pro ignores query parameters it does not know.
    this.#lenient = server === null || atLeast(server, exceptionHandlingSince);
    return mobileDevicesPath;
  }

  protected async olderPath(): Promise<string | undefined> {
    return undefined;
  }

  protected query(page: number, pageSize: number): Record<string, string | number | readonly string[]> {
    return { section: this.config.settings.sections, page, 'page-size': pageSize, sort: 'mobileDeviceId:asc', ...(this.#lenient ? { 'exception-handling': 'LENIENT' } : {}) };
  }

  protected idOf(item: Record<string, unknown>): string | undefined {
    return mobileDeviceIdOf(item);
  }

  protected record(item: Record<string, unknown>, context: ItemContext): PageRecord | undefined {
    return mobileDeviceRecord(item, context);
  }
}
