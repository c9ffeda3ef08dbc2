import type { Command } from 'commander';
import type { Run } from '../context.js';
import { collect, parseJsonOption, parseLimit, parseResourceOption, readTextFile, resolveProviderId } from '../context.js';

/** `provider`, `protectable` and `plan` commands: discovery and plan management. */
export function registerCatalogCommands(program: Command, run: Run): void {
  const provider = program.command('provider').description('providers: which plugins and bank protect a plan');
  provider
    .command('list')
    .description('list providers')
    .action(
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          cli.out.result(await service.listProviders(ctx), ['id', 'name', 'description']);
        }),
      ),
    );
  provider
    .command('show <id>')
    .description('show a provider (UUID or name) with its extended_info_schema')
    .action((id: string) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          cli.out.result(await service.showProvider(ctx, id));
        }),
      )(),
    );

  const protectable = program.command('protectable').description('discover what can be protected');
  protectable
    .command('types')
    .description('list protectable resource types')
    .action(
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          const types = await service.protectableTypes(ctx);
          cli.out.result(cli.out.format === 'json' ? types : types.map((t) => ({ type: t })), ['type']);
        }),
      ),
    );
  protectable
    .command('show <type>')
    .description('show a type and the types that depend on it')
    .action((type: string) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          cli.out.result(await service.showProtectableType(ctx, type));
        }),
      )(),
    );
  protectable
    .command('instances <type>')
    .description('list resources of a type')
    .option('--parameters <json>', 'listing parameters, e.g. {"path": "/srv"}')
    .action((type: string, opts: { parameters?: string }) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          const list = await service.listProtectableInstances(ctx, type, parseJsonOption('--parameters', opts.parameters) ?? {});
          cli.out.result(list, ['type', 'id', 'name']);
        }),
      )(),
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
    .action((opts: { name?: string; description?: string; provider?: string; resource: string[]; parameters?: string; file?: string }) =>
      run((cli) =>
        cli.withService(async (session) => {
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
      )(),
    );
  plan
    .command('list')
    .description('list plans')
    .option('--limit <n>')
    .option('--marker <id>')
    .action((opts: { limit?: string; marker?: string }) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          const limit = parseLimit(opts.limit);
          cli.out.result(await service.listPlans(ctx, { ...(limit ? { limit } : {}), ...(opts.marker ? { marker: opts.marker } : {}) }), [
            'id',
            'name',
            'provider_id',
            'status',
            'created_at',
          ]);
        }),
      )(),
    );
  plan
    .command('show <id>')
    .description('show a plan')
    .action((id: string) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          cli.out.result(await service.showPlan(ctx, id));
        }),
      )(),
    );
  plan
    .command('update <id>')
    .description('change a plan (given fields only; --resource replaces the list)')
    .option('--name <name>')
    .option('--description <text>')
    .option('--status <status>', 'suspended | started')
    .option('--resource <type=id>', 'repeatable; replaces the resources', collect, [])
    .option('--parameters <json>', 'replaces the parameters')
    .action((id: string, opts: { name?: string; description?: string; status?: string; resource: string[]; parameters?: string }) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
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
      )(),
    );
  plan
    .command('delete <id>')
    .description('delete a plan (its checkpoints stay)')
    .action((id: string) =>
      run((cli) =>
        cli.withService(async ({ service, ctx }) => {
          await service.deletePlan(ctx, id);
          cli.out.result({ id, deleted: true });
        }),
      )(),
    );
}
