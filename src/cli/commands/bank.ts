import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import { checkFindings } from '../../bank/chunks/check-findings.js';
import { DEFAULT_BANK_PROVIDER } from '../../protection-manager/bank-upkeep.js';
import { serviceAction } from '../actions.js';
import type { CliSession, Run } from '../context.js';
import { localAdmin, resolveProviderId } from '../context.js';

function parsePercent(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--percent must be a number in (0, 100]' });
  return n;
}

const upkeepSession = localAdmin;

/** How BWK_ERR_BANK_CHECK_FAILED names the bank: its directory (or kind) embedded, its provider with --url. */
async function bankLabel(s: CliSession, providerId: string): Promise<string> {
  if (s.app) return s.app.providers.get(providerId).chunks.label;
  return `of provider ${(await s.service.showProvider(s.ctx, providerId)).name}`;
}

/** `bank check` and `bank gc`: maintenance of a provider's bank, embedded or through a server (--url, admin token). */
export function registerBankCommands(program: Command, run: Run): void {
  const bank = program.command('bank').description("a bank's chunk store: integrity check and garbage collection");
  bank
    .command('check')
    .description('check that every chunk a checkpoint references is in the bank (and, with --read-data, intact)')
    .option(
      '--provider <id>',
      'the provider whose bank to check (default: the built-in fs-directory provider, whose bank the built-ins share)',
    )
    .option('--read-data', 'read, decrypt and hash every chunk (slow: reads the whole bank)')
    .option('--percent <n>', 'with --read-data, read a random N% of the packs')
    .action(
      serviceAction(run, async (cli, session, opts: { provider?: string; readData?: boolean; percent?: string }) => {
        const percent = parsePercent(opts.percent);
        if (percent !== undefined && !opts.readData) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--percent needs --read-data' });
        const s = upkeepSession(session);
        const providerId = await resolveProviderId(s, opts.provider ?? DEFAULT_BANK_PROVIDER);
        const report = await s.service.checkBank(s.ctx, {
          provider_id: providerId,
          read_data: opts.readData === true,
          ...(percent !== undefined ? { read_data_percent: percent } : {}),
        });
        cli.out.result(report);
        if (!report.ok)
          throw bwkError('BWK_ERR_BANK_CHECK_FAILED', { bank: await bankLabel(s, providerId), summary: checkFindings(report) });
      }),
    );
  bank
    .command('gc')
    .description('delete chunks no checkpoint references (safe while operations run: their chunks are kept)')
    .option('--provider <id>', 'the provider whose bank to collect (default: the built-in fs-directory provider)')
    .option('--clock-skew <seconds>', 'how far the clocks of hosts writing to this bank may differ; packs younger than this are kept', '60')
    .action(
      serviceAction(run, async (cli, session, opts: { provider?: string; clockSkew: string }) => {
        const skew = Number(opts.clockSkew);
        if (!Number.isFinite(skew) || skew < 0)
          throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--clock-skew must be a number of seconds >= 0' });
        const s = upkeepSession(session);
        const providerId = await resolveProviderId(s, opts.provider ?? DEFAULT_BANK_PROVIDER);
        cli.out.result(await s.service.gcBank(s.ctx, { provider_id: providerId, clock_skew_seconds: skew }));
      }),
    );
}
