import type { BulwarkConfig } from '../common/config.js';

/** The config with api.port overridden by a command's `--port` (already validated). */
export const withApiPort = (config: BulwarkConfig, port: number | undefined): BulwarkConfig =>
  port === undefined ? config : { ...config, api: { ...config.api, port } };

/** What every process command takes besides its own options: `--metrics-port` overriding metrics.port. */
export interface ProcessOptions {
  home: string;
  metricsPort?: number;
}

/** The config with metrics.port overridden by `--metrics-port` (processes sharing one home need a port each). */
export const withMetricsPort = (config: BulwarkConfig, port: number | undefined): BulwarkConfig =>
  port === undefined ? config : { ...config, metrics: { ...config.metrics, port } };
