import type { BulwarkConfig } from '../common/config.js';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { createTransport } from '../rpc/factory.js';
import type { RpcTransport } from '../rpc/port.js';

/**
 * The RPC transport bulwark.yaml names. The broker password never sits in the file: `rpc.url` has
 * none, and `rpc.password_env` names the variable it is read from at start-up.
 */
export async function transportFromConfig(
  config: BulwarkConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RpcTransport> {
  if (config.rpc.transport === 'in-process') return createTransport({ type: 'in-process' }, logger);
  const url = new URL(config.rpc.url);
  if (config.rpc.password_env) {
    const password = env[config.rpc.password_env];
    if (password === undefined)
      throw bwkError('BWK_ERR_CONFIG_INVALID', {
        file: 'bulwark.yaml',
        reason: `rpc.password_env names ${config.rpc.password_env}, which is not set`,
      });
    url.password = encodeURIComponent(password);
  }
  return createTransport({ type: 'amqp', url: url.toString(), options: { eventsExchange: config.rpc.events_exchange } }, logger);
}
