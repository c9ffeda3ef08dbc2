import type { Command } from 'commander';
import { addPageOptions, addShowCommand, allPages, listAction, serviceAction } from '../actions.js';
import type { PageOptions } from '../actions.js';
import type { Run } from '../context.js';
import { collect, parseJsonOption, parseResourceOption, readTextFile, resolveProviderId } from '../context.js';

const PLAN_COLUMNS = ['id', 'name', 'provider_id', 'status', 'created_at'];

/** The plan fields `plan create` and `plan update` both take as options. */
interface PlanOptions {
  name?: string;
  description?: string;
  resource: string[];
  parameters?: string;
}

/** `provider`, `protectable` and `plan` commands: discovery and plan management. */
export function registerCatalogCommands(program: Command, run: Run): void {
  const provider = program.command('provider').description('providers: which plugins and bank protect a plan');
  provider
    .command('list')
    .description('list providers')
    .action(listAction(run, { columns: ['id', 'name', 'description'] }, (s) => s.service.listProviders(s.ctx)));
  addShowCommand(provider, run, 'show a provider (UUID or name) with its extended_info_schema', (s, id) =>
    s.service.showProvider(s.ctx, id),
  );

  const protectable = program.command('protectable').description('discover what can be protected');
  protectable
    .command('types')
    .description('list protectable resource types')
    .action(
      listAction(run, { columns: ['type'], asRows: (types: string[]) => types.map((t) => ({ type: t })) }, (s) =>
        s.service.protectableTypes(s.ctx),
      ),
    );
  addShowCommand(
    protectable,
    run,
    'show a type and the types that depend on it',
    (s, type) => s.service.showProtectableType(s.ctx, type),
    '<type>',
  );
  protectable
    .command('instances <type>')
    .description('list resources of a type')
    .option('--parameters <json>', 'listing parameters, e.g. {"path": "/srv"}')
    .action(
      listAction(run, { columns: ['type', 'id', 'name'] }, (s, type: string, opts: { parameters?: string }) =>
        s.service.listProtectableInstances(s.ctx, type, parseJsonOption('--parameters', opts.parameters) ?? {}),
      ),
    );

  const plan = program.command('plan').description('protection plans: resources plus the provider that protects them');
  plan
    .command('create')
    .description('create a plan')
    .option('--name <name>', 'plan name')
    .option('--description <text>', 'description')
    .option('--provider <id>', 'provider UUID or name (see: bulwark provider list)')
    .option('--resource <type=id>', 'a resource, repeatable: fs.directory=/srv/data', collect, [])
    .option('--parameters <json>', 'plan parameters: {"<type>": {...}, "<type>#<id>": {...}}')
    .option('-f, --file <plan.yaml>', 'read the plan from a YAML file')
    .action(
      serviceAction(run, async (cli, session, opts: PlanOptions & { provider?: string; file?: string }) => {
        const input = opts.file
          ? (await import('../plan-file.js')).parsePlanFile(readTextFile(opts.file), opts.file)
          : {
              name: opts.name ?? '',
              description: opts.description,
              provider_id: opts.provider ?? '',
              resources: parseResourceOption(opts.resource),
              parameters: parseJsonOption('--parameters', opts.parameters),
            };
        const providerRef = 'provider' in input && input.provider ? input.provider : (input.provider_id ?? '');
        if (!providerRef) throw Object.assign(new Error('--provider is required'), { code: 'BWK_ERR_INVALID_INPUT' });
        cli.out.result(
          await session.service.createPlan(session.ctx, {
            name: input.name,
            ...(input.description !== undefined ? { description: input.description } : {}),
            provider_id: await resolveProviderId(session, providerRef),
            resources: input.resources,
            ...(input.parameters ? { parameters: input.parameters } : {}),
          }),
        );
      }),
    );
  addPageOptions(plan.command('list').description('list plans')).action(
    listAction(run, { columns: PLAN_COLUMNS }, (s, opts: PageOptions) => allPages(opts, (page) => s.service.listPlans(s.ctx, page))),
  );
  addShowCommand(plan, run, 'show a plan', (s, id) => s.service.showPlan(s.ctx, id));
  plan
    .command('update <id>')
    .description('change a plan (given fields only; --resource replaces the list)')
    .option('--name <name>')
    .option('--description <text>')
    .option('--status <status>', 'suspended | started')
    .option('--resource <type=id>', 'repeatable; replaces the resources', collect, [])
    .option('--parameters <json>', 'replaces the parameters')
    .action(
      serviceAction(run, async (cli, { service, ctx }, id: string, opts: PlanOptions & { status?: string }) => {
        const parameters = parseJsonOption('--parameters', opts.parameters);
        cli.out.result(
          await service.updatePlan(ctx, id, {
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            ...(opts.description !== undefined ? { description: opts.description } : {}),
            ...(opts.status !== undefined ? { status: opts.status as 'suspended' | 'started' } : {}),
            ...(opts.resource.length ? { resources: parseResourceOption(opts.resource) } : {}),
            ...(parameters ? { parameters } : {}),
          }),
        );
      }),
    );
  plan
    .command('delete <id>')
    .description('delete a plan (its checkpoints stay)')
    .action(
      serviceAction(run, async (cli, { service, ctx }, id: string) => {
        await service.deletePlan(ctx, id);
        cli.out.result({ id, deleted: true });
      }),
    );
}
