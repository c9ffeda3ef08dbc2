import { assertPrintable } from '../core/control-chars.js';
import { bwkError } from '../core/errors.js';
import { newId, nowIso } from '../common/ids.js';
import { resourceRef, type Resource } from '../core/resource.js';
import { isObject, resolveParameters, validateParameters } from '../providers/parameters.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { PlanRecord } from '../store/records.js';
import type { CatalogStore } from '../store/port.js';
import { dependentsVia } from './dependents.js';
import { checkConsistency } from './consistency.js';
import { expandResourceGraph } from '../core/resource-graph.js';
import type { RequestContext } from './request.js';
import type { ResourceScopes } from './resource-scopes.js';
import type { PlanInput, PlanUpdate } from './service.js';
import { visibleProject } from './request.js';
import { checkPlanObjects, checkPlanSize, type Quotas } from './quotas.js';
import { QuotaLimits } from './quota-limits.js';

/**
 * Plans: validated in full before anything is stored — provider, resource types, that each resource
 * exists (asked of its protectable), parameters against the plugins' schemas, and an acyclic
 * resource graph.
 */
export class PlanService {
  constructor(
    private readonly providers: ProviderRegistry,
    private readonly store: CatalogStore,
    private readonly quotas: Quotas,
    private readonly scopes: ResourceScopes,
  ) {
    this.limits = new QuotaLimits(store.quotas, quotas);
  }

  private readonly limits: QuotaLimits;

  /**
   * Refuses a scoped caller a plan's resources outside its project's scope — the whole graph, as it
   * expands now: a server's databases, a stack's members.
   */
  async assertInScope(ctx: RequestContext, provider: Provider, roots: readonly Resource[], action: string): Promise<void> {
    if (!ctx.scoped) return;
    const graph = await expandResourceGraph(roots, dependentsVia(this.providers, provider, ctx.projectId));
    await this.scopes.assertUsable(ctx, graph.nodes, action, provider);
  }

  async create(ctx: RequestContext, input: PlanInput): Promise<PlanRecord> {
    assertPrintableText(input);
    checkPlanObjects(input, this.quotas);
    await this.limits.checkCount(ctx.projectId, 'plans', await this.store.countPlans(ctx.projectId));
    const checked = await this.validate(ctx, input);
    checkPlanSize({ resources: checked.resources, parameters: input.parameters ?? {} }, this.quotas);
    const now = nowIso();
    return this.store.createPlan({
      id: newId(),
      project_id: ctx.projectId,
      name: checked.name,
      description: input.description ?? '',
      provider_id: checked.provider.id,
      status: 'suspended',
      resources: checked.resources,
      parameters: input.parameters ?? {},
      created_at: now,
      updated_at: now,
    });
  }

  async get(ctx: RequestContext, id: string): Promise<PlanRecord> {
    const plan = await this.store.getPlan(visibleProject(ctx), id);
    if (!plan) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id });
    return plan;
  }

  async update(ctx: RequestContext, id: string, patch: PlanUpdate): Promise<PlanRecord> {
    // Only what the patch sets: a plan stored before names were checked can still be suspended or renamed.
    assertPrintableText(patch);
    const current = await this.get(ctx, id);
    if (patch.status !== undefined && !['suspended', 'started'].includes(patch.status)) {
      throw bwkError('BWK_ERR_PLAN_INVALID', { reason: `status must be "suspended" or "started", not "${String(patch.status)}"` });
    }
    const merged: PlanInput = {
      name: patch.name ?? current.name,
      description: patch.description ?? current.description,
      provider_id: current.provider_id,
      resources: patch.resources ?? current.resources,
      parameters: patch.parameters ?? current.parameters,
    };
    checkPlanObjects(patch, this.quotas);
    const checked = await this.validate(ctx, merged);
    checkPlanSize({ resources: checked.resources, parameters: merged.parameters ?? {} }, this.quotas);
    const updated = await this.store.updatePlan(visibleProject(ctx), id, {
      name: checked.name,
      description: merged.description ?? '',
      resources: checked.resources,
      parameters: merged.parameters ?? {},
      ...(patch.status ? { status: patch.status } : {}),
    });
    if (!updated) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id });
    return updated;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const plan = await this.get(ctx, id);
    // A scheduled operation would fire into a plan that is gone: refused, naming what uses it.
    const users = await this.store.scheduling.scheduledOperationsUsing({ planId: plan.id });
    if (users.length > 0) throw bwkError('BWK_ERR_PLAN_IN_USE', { id: plan.id, operations: users.join(', ') });
    if (!(await this.store.deletePlan(visibleProject(ctx), id))) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id });
  }

  private async validate(ctx: RequestContext, input: PlanInput): Promise<{ name: string; provider: Provider; resources: Resource[] }> {
    if (!isObject(input)) throw bwkError('BWK_ERR_PLAN_INVALID', { reason: 'a plan must be an object' });
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name || name.length > 255) throw bwkError('BWK_ERR_PLAN_INVALID', { reason: 'name must be 1 to 255 characters' });
    if (typeof input.provider_id !== 'string') throw bwkError('BWK_ERR_PLAN_INVALID', { reason: 'provider_id is required' });
    if (!this.providers.providers.has(input.provider_id.toLowerCase())) {
      // In a request body an unknown provider is bad input (400), unlike GET /providers/{id} (404).
      throw bwkError('BWK_ERR_PROVIDER_UNKNOWN', {
        id: input.provider_id,
        known: this.providers
          .list()
          .map((p) => `${p.id} (${p.name})`)
          .join(', '),
      });
    }
    const provider = this.providers.get(input.provider_id);
    if (!Array.isArray(input.resources) || input.resources.length === 0) {
      throw bwkError('BWK_ERR_PLAN_INVALID', { reason: 'a plan needs at least one resource (--resource TYPE=ID)' });
    }
    const supported = [...provider.protection.keys()].sort().join(', ');
    const resources: Resource[] = [];
    const seen = new Set<string>();
    for (const r of input.resources) {
      if (!isObject(r) || typeof r.type !== 'string' || typeof r.id !== 'string' || r.id === '') {
        throw bwkError('BWK_ERR_PLAN_INVALID', { reason: 'each resource needs a string "type" and a non-empty "id"' });
      }
      if (!provider.protection.has(r.type))
        throw bwkError('BWK_ERR_RESOURCE_TYPE_UNKNOWN', { type: r.type, provider: `${provider.name} (${provider.id})`, supported });
      const ref = resourceRef(r);
      if (seen.has(ref)) throw bwkError('BWK_ERR_PLAN_INVALID', { reason: `resource ${ref} is listed twice` });
      seen.add(ref);
      const protectable = provider.protectables.get(r.type) ?? this.providers.protectables.get(r.type);
      if (!protectable)
        throw bwkError('BWK_ERR_PROTECTABLE_TYPE_UNKNOWN', { type: r.type, known: [...this.providers.protectables.keys()].join(', ') });
      if (r.node !== undefined && (typeof r.node !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(r.node))) {
        throw bwkError('BWK_ERR_PLAN_INVALID', {
          reason: `resource ${ref}: node must be 1-64 letters, digits, "_", "." or "-" (it names the agent's task queue)`,
        });
      }
      const shown = await protectable.showResource({ projectId: ctx.projectId, parameters: {} }, r.id);
      resources.push({
        type: shown.type,
        id: shown.id,
        name: r.name ?? shown.name,
        ...((r.extra_info ?? shown.extra_info) ? { extra_info: r.extra_info ?? shown.extra_info } : {}),
        ...(r.node !== undefined ? { node: r.node } : {}),
        ...(r.consistency !== undefined ? { consistency: checkConsistency(ref, r.consistency) } : {}),
      });
    }
    validateParameters('plan', provider, resources, input.parameters ?? {});
    // What a schema cannot say (fs.directory: an exclude that climbs out with ".."), refused before anything is stored.
    for (const r of resources)
      await provider.protection.get(r.type)?.checkOptions?.(r, resolveParameters('plan', provider, r, input.parameters ?? {}));
    // Expanded here anyway (a cycle or a missing dependent is refused): its nodes are what the scope judges.
    const graph = await expandResourceGraph(resources, dependentsVia(this.providers, provider, ctx.projectId));
    await this.scopes.assertUsable(ctx, graph.nodes, 'plan', provider);
    return { name, provider, resources };
  }
}

/**
 * The text of a plan that is shown to people — its name, description and resource names — refuses
 * control characters (the CLI escapes them anyway, but other clients may not). Resource ids are not
 * checked: they name real things (a directory may have a newline in its name) and are escaped when shown.
 */
function assertPrintableText(input: Partial<Pick<PlanInput, 'name' | 'description' | 'resources'>>): void {
  if (!isObject(input)) return; // validate() says what is wrong with it
  assertPrintable('plan name', input.name);
  assertPrintable('plan description', input.description);
  // Named by position: the message must not carry the resource id, which may hold control characters itself.
  input.resources?.forEach((r, i) => isObject(r) && assertPrintable(`resources[${i}].name`, r.name));
}
