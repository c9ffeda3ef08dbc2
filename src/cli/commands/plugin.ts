import type { Command } from 'commander';
import type { Run } from '../context.js';
import { scaffoldPlugin } from '../../plugin-kit/scaffold.js';

/** `plugin new`: the start of a third-party plugin (docs/plugin-authoring.md). Needs no Bulwark home. */
export function registerPluginCommands(program: Command, run: Run): void {
  const plugin = program.command('plugin').description('write plugins of your own: a package that passes the conformance suite');
  plugin
    .command('new <name>')
    .description('write a TypeScript plugin package: skeleton, schemas, a provider file and a conformance test')
    .option('--dir <dir>', 'the directory to create (default: ./<name> with . and _ as -); it must not exist or be empty')
    .option('--bulwark <spec>', 'how the package depends on Bulwark (default: file: this Bulwark)')
    .action((name: string, opts: { dir?: string; bulwark?: string }) =>
      run(async (cli) => {
        const { dir, files } = scaffoldPlugin({ name, ...opts });
        cli.out.result({ name, directory: dir, files });
        cli.out.note(`next: cd ${dir} && npm install && npm test`);
      })(),
    );
}
