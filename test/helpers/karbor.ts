import { spawnSync } from 'node:child_process';

/** Where Karbor's client (Debian's python3-karborclient) is installed; undefined when it is not. */
export const karborBinary = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v karbor'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

export type KarborRun = (...args: string[]) => { code: number | null; out: string };

/** Runs Karbor's client with no Keystone against `/v1/<project>` of `url`, as `token`. */
export function karborAs(bin: string, url: string, project: string, token: string): KarborRun {
  return (...args) => {
    const r = spawnSync(
      bin,
      ['--os-no-client-auth', '--os-auth-token', token, '--os-project-id', project, '--karbor-url', `${url}/v1/${project}`, ...args],
      { encoding: 'utf8' },
    );
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
}

/** A value from the client's `| Property | Value |` table (the first line of a multi-line one). */
export const field = (out: string, name: string): string | undefined =>
  new RegExp(`\\|\\s*${name}\\s*\\|\\s*([^|]*?)\\s*\\|`).exec(out)?.[1];

/** The subcommands `karbor help` lists. */
export function karborSubcommands(bin: string): string[] {
  const help = spawnSync(bin, ['help'], { encoding: 'utf8' }).stdout;
  const section = help.slice(
    help.indexOf('<subcommand>'),
    help.indexOf('Optional arguments') > 0 ? help.indexOf('Optional arguments') : help.indexOf('Options:'),
  );
  return [...section.matchAll(/^ {4}([a-z][a-z-]+)/gm)].map((m) => m[1]!);
}
