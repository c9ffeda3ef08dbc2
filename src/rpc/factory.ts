import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { AmqpTransportOptions } from './amqp.js';
import { InProcessTransport } from './in-process.js';
import type { RpcTransport } from './port.js';

/** How configuration names a transport: embedded mode uses `in-process`, distributed mode `amqp`. */
export type TransportSpec = { type: 'in-process' } | { type: 'amqp'; url: string; options?: AmqpTransportOptions };

const KNOWN = ['in-process', 'amqp'];

/** Builds (and, for AMQP, connects) the transport a configuration names; unknown types are refused with the known ones. */
export async function createTransport(spec: TransportSpec, logger: Logger): Promise<RpcTransport> {
  // Specs come from config files at run time, so the union type is checked here, not trusted.
  const type = (spec as { type?: unknown }).type;
  if (type === 'in-process') return new InProcessTransport(logger);
  if (type === 'amqp') {
    const url = (spec as { url?: unknown }).url;
    if (typeof url !== 'string' || !/^amqps?:\/\//.test(url)) {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'RPC transport "amqp" needs a url like amqp://user:password@host:5672/vhost' });
    }
    const { AmqpTransport } = await import('./amqp.js'); // amqplib: only for an AMQP transport
    return AmqpTransport.connect(url, logger, (spec as { options?: AmqpTransportOptions }).options);
  }
  throw bwkError('BWK_ERR_INVALID_INPUT', {
    reason: `RPC transport type ${JSON.stringify(type)} is unknown (known types: ${KNOWN.join(', ')})`,
  });
}
