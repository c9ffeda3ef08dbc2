/**
 * Bank upkeep (Bulwark's own, not Karbor's): `bank check` and `bank gc` of a provider's bank, for admin
 * tokens only (they read or rewrite every project's data in it; the service answers 403 to a member).
 * Each answers when the work is done — a read-data check of a large bank takes hours — so the socket is
 * exempt from api.idle_timeout_ms while it waits.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BankCheckInput, BankGcInput, ProtectionService } from '../../protection-manager/service.js';
import { requestContext } from '../auth.js';
import { keepStreamOpen } from '../limits.js';
import { bankCheckBody, bankGcBody, providerRefParams } from '../schemas.js';

/** The fields of `body` that are present (0 and false included: a clock skew of 0 means something). */
function present<T extends object, K extends keyof T>(body: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => body[k] !== undefined).map((k) => [k, body[k]])) as Pick<T, K>;
}

const ADMIN_ONLY = 'Bulwark extension, admin tokens only (403 BWK_ERR_FORBIDDEN otherwise). ';

/** Runs `work` with the request's socket exempt from the idle timeout, which is put back afterwards. */
export async function waitingLong<T>(req: FastifyRequest, work: () => Promise<T>): Promise<T> {
  const socket = req.raw.socket;
  keepStreamOpen(socket);
  try {
    return await work();
  } finally {
    socket.setTimeout(req.server.server.timeout);
  }
}

export function bankRoutes(app: FastifyInstance, service: ProtectionService): void {
  // The body is optional: no body means {}.
  const emptyBody = async (req: FastifyRequest): Promise<void> => {
    req.body ??= {};
  };
  const providerId = (req: FastifyRequest): string => (req.params as { provider_id: string }).provider_id;
  const checkSchema = {
    tags: ['bank'],
    successStatus: 200,
    params: providerRefParams,
    body: bankCheckBody,
    description:
      ADMIN_ONLY +
      "Checks the provider's bank: every chunk a checkpoint references is there (and, with read_data, intact). " +
      'Answers {"bank_check": report} when done; a check that finds problems is a report with ok: false, not an error.',
  };
  app.post('/v1/:project_id/providers/:provider_id/bank/check', { schema: checkSchema, preValidation: emptyBody }, async (req) => {
    const body = req.body as Omit<BankCheckInput, 'provider_id'>;
    const input = { provider_id: providerId(req), ...present(body, ['read_data', 'read_data_percent']) };
    return { bank_check: await waitingLong(req, () => service.checkBank(requestContext(req), input)) };
  });
  const gcSchema = {
    tags: ['bank'],
    successStatus: 200,
    params: providerRefParams,
    body: bankGcBody,
    description:
      ADMIN_ONLY +
      "Deletes the chunks of the provider's bank that no checkpoint references (safe while operations run). " +
      'Answers {"bank_gc": report} when done.',
  };
  app.post('/v1/:project_id/providers/:provider_id/bank/gc', { schema: gcSchema, preValidation: emptyBody }, async (req) => {
    const body = req.body as Omit<BankGcInput, 'provider_id'>;
    const input = { provider_id: providerId(req), ...present(body, ['clock_skew_seconds']) };
    return { bank_gc: await waitingLong(req, () => service.gcBank(requestContext(req), input)) };
  });
}
