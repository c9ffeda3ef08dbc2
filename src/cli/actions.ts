/**
 * What commander calls for a command: its body, run with the CLI context and the service (or this
 * machine's app) before the command's own arguments; and what many command groups share (show and
 * list commands, paging options).
 */
import type { Command } from 'commander';
import type { BulwarkApp } from '../processes/app.js';
import type { CliContext, CliSession, Run } from './context.js';
import { parseLimit } from './context.js';

/** The action of a command that works on the service (embedded, or a server's with --url); commander's arguments follow the session. */
export function serviceAction<A extends unknown[]>(
  run: Run,
  body: (cli: CliContext, s: CliSession, ...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return (...args) => run((cli) => cli.withService((s) => body(cli, s, ...args)))();
}

/** The action of a command that works on this machine's app (token), never against --url. */
export function appAction<A extends unknown[]>(
  run: Run,
  body: (cli: CliContext, app: BulwarkApp, ...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return (...args) => run((cli) => cli.withApp((app) => body(cli, app, ...args)))();
}

/** `<group> show <id>`: prints the record `show` finds. */
export function addShowCommand(
  group: Command,
  run: Run,
  description: string,
  show: (s: CliSession, id: string) => Promise<unknown>,
  argument = '<id>',
): void {
  group
    .command(`show ${argument}`)
    .description(description)
    .action(serviceAction(run, async (cli, s, id: string) => cli.out.result(await show(s, id))));
}

/**
 * The action of a list command: prints the records `list` finds, as JSON or as a table of `columns`;
 * `asRows` turns records that do not show as they are into the table's rows.
 */
export function listAction<A extends unknown[], T>(
  run: Run,
  table: { columns: string[]; asRows?: (records: T[]) => unknown[] },
  list: (s: CliSession, ...args: A) => Promise<T[]>,
): (...args: A) => Promise<void> {
  return serviceAction(run, async (cli, s, ...args: A) => {
    const records = await list(s, ...args);
    cli.out.result(cli.out.format === 'json' || !table.asRows ? records : table.asRows(records), table.columns);
  });
}

export interface PageOptions {
  limit?: string;
  marker?: string;
}

/** `--limit <n>` and `--marker <id>` (the last record of the previous page). */
export function addPageOptions(command: Command, markerDescription?: string): Command {
  return command
    .option('--limit <n>', 'at most this many records (default: all, fetched page by page)')
    .option('--marker <id>', markerDescription);
}

/** One page of a listing: the service's page size, after `marker`. */
export type PageRequest = { limit?: number; marker?: string };

/**
 * The records the options ask for — every one after --marker, or the first --limit — fetched page
 * by page with the service's marker/limit scheme: the service never returns more than its page size
 * (paging.max_limit), so a list command asks again after the last record until a page comes back
 * empty. A bad --limit is BWK_ERR_INVALID_INPUT.
 */
export async function allPages<T extends { id: string }>(opts: PageOptions, page: (q: PageRequest) => Promise<T[]>): Promise<T[]> {
  const limit = parseLimit(opts.limit);
  const records: T[] = [];
  let marker = opts.marker;
  for (;;) {
    const wanted = limit === undefined ? undefined : limit - records.length;
    const got = await page({ ...(wanted !== undefined ? { limit: wanted } : {}), ...(marker ? { marker } : {}) });
    records.push(...got.slice(0, wanted));
    const last = got.at(-1)?.id;
    // An empty page ends the listing; so does a service that ignores the marker (it would repeat the page forever).
    if (last === undefined || last === marker || (limit !== undefined && records.length >= limit)) return records;
    marker = last;
  }
}
