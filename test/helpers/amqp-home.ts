import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { amqpUrl, requireService } from './services.js';

/** The environment variable the test homes name for the broker's password (never in bulwark.yaml). */
export const AMQP_PASSWORD_ENV = 'BWK_TEST_AMQP_PASSWORD';

/**
 * Writes a home's bulwark.yaml joining its processes over the test RabbitMQ, on a queue of its own
 * (`<prefix>-<random>`), the password passed through AMQP_PASSWORD_ENV; `extra` lines follow. Skips
 * the suite when RabbitMQ is not there. The caller deletes the variable in its `after`.
 */
export function writeAmqpHome(ctx: Mocha.Context, home: string, prefix: string, extra: string[] = []): void {
  const broker = new URL(requireService(ctx, 'RabbitMQ', amqpUrl()));
  process.env[AMQP_PASSWORD_ENV] = decodeURIComponent(broker.password);
  broker.password = '';
  writeFileSync(
    join(home, 'bulwark.yaml'),
    [
      'rpc:',
      '  transport: amqp',
      `  url: ${broker.toString()}`,
      `  password_env: ${AMQP_PASSWORD_ENV}`,
      `  queue: ${prefix}-${randomUUID().slice(0, 8)}`,
      ...extra,
      'tasks: {max_parallel: 8}',
      '',
    ].join('\n'),
  );
}
