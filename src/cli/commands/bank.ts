import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import { appAction } from '../actions.js';
import type { Run } from '../context.js';

/** The built-in fs-directory provider: its bank (<home>/bank) is the one every built-in provider shares. */
const DEFAULT_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

function parsePercent(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--percent must be a number in (0, 100]' });
  return n;
}

/** `bank check` and `bank gc`: maintenance of a provider's bank, run where the bank is reachable. */
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
      appAction(run, async (cli, app, opts: { provider?: string; readData?: boolean; percent?: string }) => {
        const percent = parsePercent(opts.percent);
        if (percent !== undefined && !opts.readData) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--percent needs --read-data' });
        const provider = app.providers.get(opts.provider ?? DEFAULT_PROVIDER);
        const { checkBank } = await import('../../bank/chunks/check.js');
        const report = await checkBank(provider.chunks, {
          readData: opts.readData === true,
          ...(percent !== undefined ? { percent } : {}),
        });
        cli.out.result(report);
        if (!report.ok) {
          const summary = [
            report.missing_chunks && `${report.missing_chunks} missing chunk(s)`,
            report.corrupt_chunks && `${report.corrupt_chunks} corrupt chunk(s)`,
            report.damaged_packs.length && `${report.damaged_packs.length} damaged pack(s)`,
            report.unreadable.length && `${report.unreadable.length} unreadable object(s)`,
          ]
            .filter(Boolean)
            .join(', ');
          throw bwkError('BWK_ERR_BANK_CHECK_FAILED', { bank: provider.chunks.label, summary });
        }
      }),
    );
  bank
    .command('gc')
    .description('delete chunks no checkpoint references (safe while operations run: their chunks are kept)')
    .option('--provider <id>', 'the provider whose bank to collect (default: the built-in fs-directory provider)')
    .option('--clock-skew <seconds>', 'how far the clocks of hosts writing to this bank may differ; packs younger than this are kept', '60')
    .action(
      appAction(run, async (cli, app, opts: { provider?: string; clockSkew: string }) => {
        const skew = Number(opts.clockSkew);
        if (!Number.isFinite(skew) || skew < 0)
          throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--clock-skew must be a number of seconds >= 0' });
        const provider = app.providers.get(opts.provider ?? DEFAULT_PROVIDER);
        const { collectGarbage } = await import('../../bank/chunks/gc.js');
        cli.out.result(await collectGarbage(provider.chunks, { skewMs: skew * 1000 }));
      }),
    );
}
