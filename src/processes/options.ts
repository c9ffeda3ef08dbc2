import type { BulwarkConfig } from '../common/config.js';

/** The config with api.port overridden by a command's `--port` (already validated). */
export const withApiPort = (config: BulwarkConfig, port: number | undefined): BulwarkConfig =>
  port === undefined ? config : { ...config, api: { ...config.api, port } };
