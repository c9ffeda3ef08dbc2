/**
 * `key create|show` and `checkpoint export|import`: they run where the home is (its signing key, its
 * banks), never against --url. The export passphrase comes from an environment variable, named with
 * --passphrase-env (default BULWARK_EXPORT_PASSPHRASE): never a flag, so it stays out of process lists.
 */
import type { Command } from 'commander';
import { appAction } from '../actions.js';
import type { Run } from '../context.js';
import { collect } from '../context.js';
import { createDeploymentKey, keyFileOf, readDeploymentKey } from '../../protection-manager/export/deployment-key.js';
import { DEFAULT_PASSPHRASE_ENV, exportToFile, importFromFile } from '../../protection-manager/export/transfer-service.js';

const PASSPHRASE_HELP = `the environment variable holding the export passphrase (default ${DEFAULT_PASSPHRASE_ENV})`;

export function registerExportCommands(program: Command, checkpoint: Command, run: Run): void {
  const key = program.command('key').description("this deployment's signing key: exported checkpoints are signed with it");
  key
    .command('create')
    .description('create the Ed25519 key (kept in the home, 0600) and print its public key for importers to trust')
    .action(
      appAction(run, async (cli, app) => {
        const k = await createDeploymentKey(app.home);
        cli.out.result({ public_key: k.publicKey, file: keyFileOf(app.home) });
      }),
    );
  key
    .command('show')
    .description('print the public key (what an importing deployment passes to --trust-key)')
    .action(
      appAction(run, async (cli, app) => {
        cli.out.result({ public_key: (await readDeploymentKey(app.home)).publicKey, file: keyFileOf(app.home) });
      }),
    );

  checkpoint
    .command('export <id>')
    .description('write a checkpoint to one signed, encrypted archive another deployment can import')
    .requiredOption('--out <file>', 'the archive to write (appears only once complete)')
    .option('--provider <id>', 'the provider whose bank holds the checkpoint (default: look in every bank)')
    .option('--passphrase-env <name>', PASSPHRASE_HELP)
    .action(
      appAction(run, async (cli, app, id: string, opts: { out: string; provider?: string; passphraseEnv?: string }) => {
        const ctx = { projectId: app.config.project, admin: true };
        cli.out.result(
          await exportToFile(app, ctx, {
            checkpoint_id: id,
            out: opts.out,
            ...(opts.provider !== undefined ? { provider_id: opts.provider } : {}),
            ...(opts.passphraseEnv !== undefined ? { passphrase_env: opts.passphraseEnv } : {}),
          }),
        );
      }),
    );
  checkpoint
    .command('import <file>')
    .description('check an archive (signature, every hash) and import it as a new checkpoint; run again to resume')
    .requiredOption('--provider <id>', 'the provider (id or name) whose bank receives the checkpoint')
    .option(
      '--trust-key <key>',
      "accept archives signed by this public key (ed25519:...), besides this deployment's own; repeatable",
      collect,
    )
    .option('--passphrase-env <name>', PASSPHRASE_HELP)
    .action(
      appAction(run, async (cli, app, file: string, opts: { provider: string; trustKey?: string[]; passphraseEnv?: string }) => {
        const ctx = { projectId: app.config.project, admin: true };
        const report = await importFromFile(app, ctx, {
          file,
          provider_id: opts.provider,
          ...(opts.trustKey ? { trust_keys: opts.trustKey } : {}),
          ...(opts.passphraseEnv !== undefined ? { passphrase_env: opts.passphraseEnv } : {}),
        });
        cli.out.result(cli.out.format === 'json' ? report : report.checkpoint);
      }),
    );
}
