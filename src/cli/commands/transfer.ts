/**
 * Checkpoints that travel: `checkpoint copy` (to another provider's bank, embedded or through a
 * server), and `checkpoint export|import` with the deployment key they are signed with (`key`), which
 * run where the home is (docs/copy-export.md).
 */
import type { Command } from 'commander';
import { serviceAction } from '../actions.js';
import type { Run } from '../context.js';
import { resolveProviderId } from '../context.js';
import { registerExportCommands } from './export.js';

export function registerCheckpointTransferCommands(program: Command, checkpoint: Command, run: Run): void {
  checkpoint
    .command('copy <id>')
    .description("copy a checkpoint into another provider's bank and wait; run again to resume a copy cut short")
    .requiredOption('--to-provider <id>', 'the provider (id or name) whose bank receives the copy')
    .option('--provider <id>', 'the provider whose bank holds the checkpoint (default: look in every bank)')
    .action(
      serviceAction(run, async (cli, s, id: string, opts: { toProvider: string; provider?: string }) => {
        const to = await resolveProviderId(s, opts.toProvider);
        const from = opts.provider === undefined ? undefined : await resolveProviderId(s, opts.provider);
        cli.out.result(
          await s.service.copyCheckpoint(s.ctx, {
            checkpoint_id: id,
            to_provider_id: to,
            ...(from !== undefined ? { provider_id: from } : {}),
          }),
        );
      }),
    );
  registerExportCommands(program, checkpoint, run);
}
