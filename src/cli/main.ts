import { Command, CommanderError } from 'commander';
import { registerCatalogCommands } from './commands/catalog.js';
import { registerOperationCommands } from './commands/operations.js';
import { registerEngineCommands } from './commands/engine.js';
import { registerServiceCommands } from './commands/service.js';
import { registerServiceCatalogCommands } from './commands/services.js';
import { registerSubscriptionCommands } from './commands/subscriptions.js';
import { registerBankCommands } from './commands/bank.js';
import { registerDistributedCommands } from './commands/distributed.js';
import { registerSchedulingCommands } from './commands/scheduling.js';
import { registerPluginCommands } from './commands/plugin.js';
import { CliContext, type GlobalOptions } from './context.js';
import { createOutput } from './output.js';

/**
 * The `bulwark` command. Exit codes: 0 done; 1 the command failed or its operation ended
 * error/fail; 2 usage error.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('bulwark')
    .description('Bulwark: protect, restore and verify data into checkpoints')
    .option('--home <dir>', 'Bulwark home (default: $BULWARK_HOME or ~/.bulwark)')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--url <url>', 'talk to a Bulwark server (default: $BULWARK_URL; token from $BULWARK_TOKEN)')
    .option('--ca-file <pem>', 'trust this CA for an https --url instead of the system CAs (default: $BULWARK_CA_FILE)')
    .option(
      '--api-retry <duration>',
      'while waiting on an operation, keep trying an unreachable --url this long; 0 = never (default: $BULWARK_API_RETRY or 5m)',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  let pending: Promise<void> | undefined;
  const run = (fn: (cli: CliContext) => Promise<void>) => () => {
    pending = (async () => {
      const globals = program.opts<GlobalOptions>();
      let cli: CliContext;
      try {
        cli = new CliContext(globals);
      } catch (err) {
        createOutput('table').error(err);
        process.exitCode = 2;
        return;
      }
      try {
        await fn(cli);
        process.exitCode = cli.exitCode;
      } catch (err) {
        cli.out.error(err);
        process.exitCode = 1;
      }
    })();
    return pending;
  };
  registerCatalogCommands(program, run);
  registerOperationCommands(program, run);
  registerEngineCommands(program, run);
  registerServiceCommands(program, run);
  registerServiceCatalogCommands(program, run);
  registerSubscriptionCommands(program, run);
  registerBankCommands(program, run);
  registerDistributedCommands(program, run);
  registerSchedulingCommands(program, run);
  registerPluginCommands(program, run);

  try {
    await program.parseAsync(argv);
    await pending;
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
