/** Protect: a new checkpoint of a plan, `protecting` until its hooks end, then `available` or `error`. */
import { CheckpointCollection } from '../../checkpoints/collection.js';
import { bwkError } from '../../core/errors.js';
import { expandResourceGraph } from '../../core/resource-graph.js';
import { resourceRef, type Resource } from '../../core/resource.js';
import type { ConsistencyHooks } from '../consistency.js';
import { dependentsVia } from '../dependents.js';
import type { ProtectRequest } from '../engine.js';
import { loadSavedInfo, saveInfoFn, sectionFor } from '../operation-context.js';
import type { Provider } from '../../providers/registry.js';
import { abandonCheckpoint, markCheckpointEnded } from './checkpoint-records.js';
import type { OperationKindSpec, OperationState } from './kind.js';

const consistencyOf = (resources: Resource[]): Map<string, ConsistencyHooks> =>
  new Map(resources.filter((r) => r.consistency !== undefined).map((r) => [resourceRef(r), r.consistency as ConsistencyHooks]));

export const protectKind: OperationKindSpec<ProtectRequest> = {
  parameterKind: 'plan',
  revertsOnFailure: true,

  async prepare(req, provider, deps): Promise<OperationState> {
    const checkpoints = new CheckpointCollection(provider.bank);
    const plan = await deps.store.getPlan(req.projectId, req.planId);
    if (!plan) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: req.planId });
    // With the lease held, an existing record means this operation id already ran: never run it twice.
    if (await checkpoints.get(req.checkpointId, null)) throw bwkError('BWK_ERR_OPERATION_EXISTS', { id: req.operationId });
    const now = new Date().toISOString();
    await checkpoints.create({
      id: req.checkpointId,
      project_id: req.projectId,
      provider_id: provider.id,
      status: 'protecting',
      protection_plan: { id: plan.id, name: plan.name, resources: plan.resources },
      resource_graph: null,
      created_at: now,
      updated_at: now,
      extra_info: { operation_id: req.operationId, ...(req.origin ? { ...req.origin } : {}), ...(req.schedule ? { ...req.schedule } : {}) },
    });
    const graph = await expandResourceGraph(plan.resources, dependentsVia(deps.providers, provider, req.projectId));
    const [previous] = await checkpoints.list({
      projectId: req.projectId,
      planId: plan.id,
      providerId: provider.id,
      status: 'available',
      limit: 1,
    });
    // Recorded, so a worker that did not run `prepare` (Temporal) finds the same base for change detection.
    await checkpoints.update(req.checkpointId, (c) => ({
      resource_graph: graph,
      extra_info: { ...c.extra_info, base_checkpoint_id: previous?.id ?? null },
    }));
    return {
      provider,
      graph,
      parameters: plan.parameters,
      planId: plan.id,
      consistency: consistencyOf(plan.resources),
      previousCheckpointId: previous?.id ?? null,
    };
  },

  async reload(req, provider, deps): Promise<OperationState> {
    const checkpoint = await new CheckpointCollection(provider.bank).mustGet(req.checkpointId, req.projectId);
    const plan = await deps.store.getPlan(req.projectId, req.planId);
    const base = checkpoint.extra_info?.['base_checkpoint_id'];
    return {
      provider,
      graph: checkpoint.resource_graph ?? { roots: [], nodes: [] },
      parameters: plan?.parameters ?? {},
      planId: req.planId,
      consistency: consistencyOf(checkpoint.protection_plan.resources),
      previousCheckpointId: typeof base === 'string' ? base : null,
    };
  },

  operationFor: (plugin, resource) => plugin.getProtectOperation(resource),

  async context(req, state, resource) {
    const previous = state.previousCheckpointId ? sectionFor(state.provider, state.previousCheckpointId, resource) : null;
    return { saveInfo: saveInfoFn(state.provider, req.checkpointId, resource), previous };
  },

  async record(req, provider, _deps, ending) {
    const checkpoints = new CheckpointCollection(provider.bank);
    const current = await checkpoints.get(req.checkpointId, null);
    if (!current) return 'error';
    const notCaptured = ending.ok ? await notCapturedCounts(provider, req.checkpointId, ending.refs) : {};
    if (Object.keys(notCaptured).length > 0) {
      await checkpoints.update(req.checkpointId, (c) => ({ extra_info: { ...c.extra_info, resources_not_captured: notCaptured } }));
    }
    return markCheckpointEnded(checkpoints, req.checkpointId, current.status, ending.ok ? 'available' : 'error', ending, 'protect');
  },

  abandon: (req, bank, _deps, reason) => abandonCheckpoint(bank, req.checkpointId, reason),
};

/**
 * Per resource, how many entries its protect could not capture (saved_info's `skipped_count`, e.g.
 * fs.directory's unreadable files): counts only, as the record is not sealed on an encrypted bank;
 * the paths stay in the sealed saved info (`bulwark checkpoint show` adds them: not-captured.ts).
 */
async function notCapturedCounts(provider: Provider, checkpointId: string, refs: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const ref of refs) {
    const at = ref.indexOf('#');
    const type = ref.slice(0, at);
    // Only types whose saved info can count such entries cost a read (a 500-resource plan of others costs none).
    const schema = provider.schemas(type).saved_info as { properties?: Record<string, unknown> } | undefined;
    if (schema?.properties?.['skipped_count'] === undefined) continue;
    const info = await loadSavedInfo(provider, checkpointId, { type, id: ref.slice(at + 1), name: '' }).catch(() => null);
    const count = info?.['skipped_count'];
    if (typeof count === 'number' && count > 0) out[ref] = count;
  }
  return out;
}
