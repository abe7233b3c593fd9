import type { Config } from '../config/config-types.ts';
import type { CommandIo } from './checkpoint-command.ts';

export interface TopOptions {
  readonly url?: string;
  readonly interval?: string;
}

/** `orchard top`: the live view is being built; until then it says so. */
export async function topCommand(_options: TopOptions, io: CommandIo, _config: () => Config): Promise<number> {
  io.err('orchard top: not available in this build yet.\n');
  return 1;
}
