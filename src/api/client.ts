import type { CheckpointQuery } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import { bwkError, isBulwarkError } from '../core/errors.js';
import { ApiTransport, LONG_REQUEST_TIMEOUT_MS, pageQuery, type Method } from './client-transport.js';
import { DEFAULT_BANK_PROVIDER } from '../protection-manager/bank-upkeep.js';
import type { RequestContext } from '../protection-manager/request.js';
import type {
  BankCheckInput,
  BankCheckReport,
  BankGcInput,
  CopyInput,
  GcReport,
  LogQuery,
  OperationLog,
  OperationView,
  PlanInput,
  PlanUpdate,
  ProtectableInstance,
  ProtectInput,
  ProtectionService,
  ProviderView,
  ResettableState,
  RestoreInput,
  VerifyInput,
} from '../protection-manager/service.js';
import type { ListOperationsQuery, ListPlansQuery } from '../store/port.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from '../store/records.js';

/** The API sends resource_graph as a JSON string (Karbor's form); the CLI shows it as an object. */
const graphDecoded = (c: CheckpointRecord): CheckpointRecord =>
  typeof c.resource_graph === 'string' ? { ...c, resource_graph: JSON.parse(c.resource_graph) as CheckpointRecord['resource_graph'] } : c;

/**
 * The ProtectionService over the REST API (`--url` / BULWARK_URL), beside the routes it mirrors: the
 * CLI's commands run unchanged against a server, with its token's project. Errors come back as the
 * server's `{code, message}`.
 */
export class HttpProtectionService implements ProtectionService {
  /** The server and token this client speaks to; HttpSchedulingService shares it. */
  readonly transport: ApiTransport;

  /** `ca`: the PEM CA bundle to trust for an https URL instead of the system's (`--ca-file`). */
  constructor(base: string, token: string, ca?: Buffer) {
    this.transport = new ApiTransport(base, token, ca);
  }

  /** The token's project and role, from the server. */
  async identity(): Promise<{ project_id: string; role: 'admin' | 'member' }> {
    return this.request('GET', '/v1/identity') as Promise<{ project_id: string; role: 'admin' | 'member' }>;
  }

  private request(method: Method, path: string, body?: unknown): Promise<unknown> {
    return this.transport.request(method, path, body);
  }

  private unwrap<T>(key: string, method: Method, path: string, body?: unknown): Promise<T> {
    return this.transport.unwrap<T>(key, method, path, body);
  }

  private p(ctx: RequestContext, rest: string, query: Record<string, unknown> = {}): string {
    return this.transport.path(ctx, rest, query);
  }

  private page(q: { limit?: number; marker?: string; sort?: 'asc' | 'desc' } = {}) {
    return pageQuery(q);
  }

  /** The query of a restore or verification listing. */
  private operationQuery(q: Omit<ListOperationsQuery, 'projectId'>) {
    return { ...this.page(q), status: q.status, checkpoint_id: q.checkpointId };
  }

  async listProviders(ctx: RequestContext): Promise<ProviderView[]> {
    return this.unwrap('providers', 'GET', this.p(ctx, '/providers'));
  }
  async showProvider(ctx: RequestContext, id: string): Promise<ProviderView> {
    return this.unwrap('provider', 'GET', this.p(ctx, `/providers/${encodeURIComponent(id)}`));
  }
  async protectableTypes(ctx: RequestContext): Promise<string[]> {
    return this.unwrap('protectable_type', 'GET', this.p(ctx, '/protectables'));
  }
  async showProtectableType(ctx: RequestContext, type: string): Promise<{ name: string; dependent_types: string[] }> {
    return this.unwrap('protectable_type', 'GET', this.p(ctx, `/protectables/${encodeURIComponent(type)}`));
  }
  async listProtectableInstances(ctx: RequestContext, type: string, parameters: unknown): Promise<ProtectableInstance[]> {
    const query = { parameters: JSON.stringify(parameters ?? {}) };
    return this.unwrap('instances', 'GET', this.p(ctx, `/protectables/${encodeURIComponent(type)}/instances`, query));
  }
  async showProtectableInstance(ctx: RequestContext, type: string, id: string): Promise<ProtectableInstance> {
    return this.unwrap('instance', 'GET', this.p(ctx, `/protectables/${encodeURIComponent(type)}/instances/${encodeURIComponent(id)}`));
  }

  async createPlan(ctx: RequestContext, input: PlanInput): Promise<PlanRecord> {
    return this.unwrap('plan', 'POST', this.p(ctx, '/plans'), { plan: input });
  }
  async listPlans(ctx: RequestContext, q: Omit<ListPlansQuery, 'projectId'> = {}): Promise<PlanRecord[]> {
    return this.unwrap('plans', 'GET', this.p(ctx, '/plans', this.page(q)));
  }
  async showPlan(ctx: RequestContext, id: string): Promise<PlanRecord> {
    return this.unwrap('plan', 'GET', this.p(ctx, `/plans/${id}`));
  }
  async updatePlan(ctx: RequestContext, id: string, patch: PlanUpdate): Promise<PlanRecord> {
    return this.unwrap('plan', 'PUT', this.p(ctx, `/plans/${id}`), { plan: patch });
  }
  async deletePlan(ctx: RequestContext, id: string): Promise<void> {
    await this.request('DELETE', this.p(ctx, `/plans/${id}`));
  }

  async startProtect(ctx: RequestContext, input: ProtectInput): Promise<CheckpointRecord> {
    const provider = input.provider_id ?? (await this.showPlan(ctx, input.plan_id)).provider_id;
    const checkpoint = { plan_id: input.plan_id, ...(input.operation_id ? { operation_id: input.operation_id } : {}) };
    return graphDecoded(await this.unwrap('checkpoint', 'POST', this.p(ctx, `/providers/${provider}/checkpoints`), { checkpoint }));
  }

  async listCheckpoints(ctx: RequestContext, q: Omit<CheckpointQuery, 'projectId'>): Promise<CheckpointRecord[]> {
    const providers = q.providerId ? [q.providerId] : await this.providersOfPlan(ctx, q.planId);
    const query = { ...this.page(q), plan_id: q.planId, status: q.status, start_date: q.since, end_date: q.until };
    const lists = await Promise.all(
      providers.map(async (p) =>
        (await this.unwrap<CheckpointRecord[]>('checkpoints', 'GET', this.p(ctx, `/providers/${p}/checkpoints`, query))).map(graphDecoded),
      ),
    );
    // Several providers: one list, in the requested order (each provider already paged by the same marker and limit).
    const sign = q.sort === 'asc' ? 1 : -1;
    const cmp = (a: CheckpointRecord, b: CheckpointRecord) =>
      sign * (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const merged = lists.flat().sort(cmp);
    // A provider's page may stop short of what it has: past the earliest page end, another provider's
    // next page could hold records that sort first, so the merge stops there and the next page resumes.
    const ends = lists.filter((l) => l.length > 0).map((l) => l.at(-1)!);
    const end = ends.sort(cmp)[0];
    const safe = end === undefined || lists.length === 1 ? merged : merged.filter((r) => cmp(r, end) <= 0);
    return q.limit !== undefined ? safe.slice(0, q.limit) : safe;
  }

  /** Finds which provider holds a checkpoint: the API addresses checkpoints under their provider. */
  private async providerOf(ctx: RequestContext, id: string, providerId?: string): Promise<string> {
    if (providerId) return providerId;
    const operation = await this.showOperation(ctx, id).catch((err: unknown) => {
      if (isBulwarkError(err, 'BWK_ERR_OPERATION_NOT_FOUND')) return null;
      throw err;
    });
    // Not a checkpoint the caller can see (unknown, deleted, another project's, a restore's id): say so as the service does.
    if (operation?.kind !== 'protect') throw bwkError('BWK_ERR_CHECKPOINT_NOT_FOUND', { id });
    return operation.record.provider_id;
  }

  /**
   * The providers whose checkpoints a listing reads: the plan's when the caller can see the plan, every
   * provider otherwise (a deleted plan keeps its checkpoints; another project's plan lists nothing).
   */
  private async providersOfPlan(ctx: RequestContext, planId: string | undefined): Promise<string[]> {
    if (planId !== undefined) {
      const plan = await this.showPlan(ctx, planId).catch((err: unknown) => {
        if (isBulwarkError(err, 'BWK_ERR_PLAN_NOT_FOUND')) return null;
        throw err;
      });
      if (plan) return [plan.provider_id];
    }
    return (await this.listProviders(ctx)).map((p) => p.id);
  }

  async showCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<CheckpointRecord> {
    const provider = await this.providerOf(ctx, id, providerId);
    return graphDecoded(await this.unwrap('checkpoint', 'GET', this.p(ctx, `/providers/${provider}/checkpoints/${id}`)));
  }

  async deleteCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<void> {
    await this.request('DELETE', this.p(ctx, `/providers/${await this.providerOf(ctx, id, providerId)}/checkpoints/${id}`));
  }

  async resetCheckpointState(ctx: RequestContext, id: string, state: ResettableState, providerId?: string): Promise<CheckpointRecord> {
    const path = this.p(ctx, `/providers/${await this.providerOf(ctx, id, providerId)}/checkpoints/${id}`);
    return graphDecoded(await this.unwrap('checkpoint', 'PUT', path, { 'os-resetState': { state } }));
  }

  async copyCheckpoint(ctx: RequestContext, input: CopyInput): Promise<CheckpointRecord> {
    const { checkpoint_id, provider_id, to_provider_id } = input;
    const path = this.p(ctx, `/providers/${await this.providerOf(ctx, checkpoint_id, provider_id)}/checkpoints/${checkpoint_id}/copy`);
    return graphDecoded(await this.transport.unwrap('checkpoint', 'POST', path, { copy: { to_provider_id } }, LONG_REQUEST_TIMEOUT_MS));
  }

  async startRestore(ctx: RequestContext, input: RestoreInput): Promise<RestoreRecord> {
    return this.unwrap('restore', 'POST', this.p(ctx, '/restores'), { restore: input });
  }
  async listRestores(ctx: RequestContext, q: Omit<ListOperationsQuery, 'projectId'> = {}): Promise<RestoreRecord[]> {
    return this.unwrap('restores', 'GET', this.p(ctx, '/restores', this.operationQuery(q)));
  }
  async showRestore(ctx: RequestContext, id: string): Promise<RestoreRecord> {
    return this.unwrap('restore', 'GET', this.p(ctx, `/restores/${id}`));
  }

  async startVerify(ctx: RequestContext, input: VerifyInput): Promise<VerificationRecord> {
    return this.unwrap('verification', 'POST', this.p(ctx, '/verifications'), { verification: input });
  }
  async listVerifications(ctx: RequestContext, q: Omit<ListOperationsQuery, 'projectId'> = {}): Promise<VerificationRecord[]> {
    return this.unwrap('verifications', 'GET', this.p(ctx, '/verifications', this.operationQuery(q)));
  }
  async showVerification(ctx: RequestContext, id: string): Promise<VerificationRecord> {
    return this.unwrap('verification', 'GET', this.p(ctx, `/verifications/${id}`));
  }

  async showOperation(ctx: RequestContext, id: string): Promise<OperationView> {
    const view = await this.unwrap<OperationView>('operation', 'GET', this.p(ctx, `/operations/${id}`));
    return view.kind === 'protect' ? { ...view, record: graphDecoded(view.record as CheckpointRecord) } : view;
  }
  async cancelOperation(ctx: RequestContext, id: string): Promise<void> {
    await this.request('POST', this.p(ctx, `/operations/${id}/cancel`));
  }
  async listOperationLogs(ctx: RequestContext, q: LogQuery = {}): Promise<OperationLog[]> {
    return this.unwrap('operation_logs', 'GET', this.p(ctx, '/operation_logs', this.page(q)));
  }

  async checkBank(ctx: RequestContext, input: BankCheckInput = {}): Promise<BankCheckReport> {
    const { provider_id, ...body } = input;
    return this.transport.unwrap('bank_check', 'POST', this.bankPath(ctx, provider_id, 'check'), body, LONG_REQUEST_TIMEOUT_MS);
  }
  async gcBank(ctx: RequestContext, input: BankGcInput = {}): Promise<GcReport> {
    const { provider_id, ...body } = input;
    return this.transport.unwrap('bank_gc', 'POST', this.bankPath(ctx, provider_id, 'gc'), body, LONG_REQUEST_TIMEOUT_MS);
  }
  private bankPath(ctx: RequestContext, providerId: string | undefined, action: 'check' | 'gc'): string {
    return this.p(ctx, `/providers/${encodeURIComponent(providerId ?? DEFAULT_BANK_PROVIDER)}/bank/${action}`);
  }
}
