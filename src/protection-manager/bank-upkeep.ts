/**
 * Bank upkeep as service calls: `bank check` and `bank gc` of one provider's bank. Admins only: they
 * read (or rewrite) the data of every project in that bank. Each returns when done — hours for a
 * read-data check of a large bank — so RPC callers wait rpc.long_timeout_ms for them; the outcome is
 * logged here too, where it is known even when the caller gave up or is gone.
 */
import { isUuid } from '../common/ids.js';
import type { Logger } from '../common/logging.js';
import { bwkError, reasonOf } from '../core/errors.js';
import { bankBytes, bankCheckLastSuccess } from '../common/metrics.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { RequestContext } from './request.js';
import type { BankCheckInput, BankCheckReport, BankGcInput, GcReport } from './service.js';

/** The built-in fs-directory provider: its bank (<home>/bank) is the one every built-in provider shares. */
export const DEFAULT_BANK_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

export interface BankUpkeepDeps {
  providers: ProviderRegistry;
  logger: Logger;
}

const invalid = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason });

function assertAdmin(ctx: RequestContext, what: string): void {
  if (!ctx.admin) throw bwkError('BWK_ERR_FORBIDDEN', { reason: `${what} reads or rewrites a whole bank: it needs an admin token` });
}

/** The input as an object (it may come from a JSON message), and its provider by id or by name. */
function providerOf(deps: BankUpkeepDeps, input: unknown): { provider: Provider; input: Record<string, unknown> } {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('bank upkeep input must be an object');
  const fields = input as Record<string, unknown>;
  const ref = fields.provider_id ?? DEFAULT_BANK_PROVIDER;
  if (typeof ref !== 'string' || ref === '') throw invalid('provider_id must be a provider id or name');
  const byName = isUuid(ref) ? [] : deps.providers.list().filter((p) => p.name === ref);
  return { provider: byName.length === 1 ? byName[0]! : deps.providers.get(ref), input: fields };
}

/** Runs `work` on the provider's bank, logging its start and end (a check that finds problems is logged as a warning). */
async function logged<T>(
  deps: BankUpkeepDeps,
  what: 'bank check' | 'bank gc',
  provider: Provider,
  fields: Record<string, unknown>,
  work: () => Promise<T>,
  outcome: (result: T) => { ok: boolean; fields: Record<string, unknown> },
): Promise<T> {
  const base = { provider: provider.id, bank: provider.chunks.label, ...fields };
  const started = Date.now();
  deps.logger.info(`${what} started`, base);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    deps.logger.warn(`${what} failed`, { ...base, duration_ms: Date.now() - started, error: reasonOf(err) });
    throw err;
  }
  const o = outcome(result);
  deps.logger[o.ok ? 'info' : 'warn'](`${what} finished`, { ...base, duration_ms: Date.now() - started, ...o.fields });
  if (what === 'bank check' && o.ok) bankCheckLastSuccess.set({ provider: provider.id }, Date.now() / 1000);
  // Both walked the bank's index just now: its size is known at no extra cost.
  await provider.chunks
    .storedBytes()
    .then((bytes) => bankBytes.set({ provider: provider.id }, bytes))
    .catch((err: unknown) => deps.logger.warn('bank size not measured', { ...base, error: reasonOf(err) }));
  return result;
}

export async function checkProviderBank(deps: BankUpkeepDeps, ctx: RequestContext, raw: BankCheckInput): Promise<BankCheckReport> {
  assertAdmin(ctx, 'bank check');
  const { provider, input } = providerOf(deps, raw);
  const readData = input.read_data ?? false;
  if (typeof readData !== 'boolean') throw invalid('read_data must be true or false');
  const percent = input.read_data_percent;
  if (percent !== undefined) {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent <= 0 || percent > 100)
      throw invalid('read_data_percent must be a number in (0, 100]');
    if (!readData) throw invalid('read_data_percent needs read_data');
  }
  const { checkBank } = await import('../bank/chunks/check.js');
  const { checkFindings } = await import('../bank/chunks/check-findings.js');
  return logged(
    deps,
    'bank check',
    provider,
    { read_data: readData, ...(percent !== undefined ? { read_data_percent: percent } : {}) },
    () => checkBank(provider.chunks, { readData, ...(percent !== undefined ? { percent } : {}) }),
    (r) => ({
      ok: r.ok,
      fields: { ok: r.ok, packs: r.packs, chunks: r.chunks, packs_read: r.packs_read, ...(r.ok ? {} : { findings: checkFindings(r) }) },
    }),
  );
}

export async function gcProviderBank(deps: BankUpkeepDeps, ctx: RequestContext, raw: BankGcInput): Promise<GcReport> {
  assertAdmin(ctx, 'bank gc');
  const { provider, input } = providerOf(deps, raw);
  const skew = input.clock_skew_seconds ?? 60;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0) throw invalid('clock_skew_seconds must be a number of seconds >= 0');
  const { collectGarbage } = await import('../bank/chunks/gc.js');
  return logged(
    deps,
    'bank gc',
    provider,
    { clock_skew_seconds: skew },
    () => collectGarbage(provider.chunks, { skewMs: skew * 1000 }),
    (r) => ({ ok: true, fields: { ...r } }),
  );
}
