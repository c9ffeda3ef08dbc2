/**
 * What makes one kind of operation (protect, restore, verify, delete) different from another: how it
 * checks and marks its records before any hook runs, which plugin operation it runs, what a hook's
 * context carries, and how it records its end. OperationSteps runs every kind the same way through
 * this interface, so a new kind is one new module registered in index.ts.
 */
import type { BankPlugin } from '../../bank/port.js';
import type { ResourceGraph } from '../../core/resource-graph.js';
import type { Resource } from '../../core/resource.js';
import type { Operation, ProtectionPlugin, RestorePolicy } from '../../plugins/api.js';
import type { ParameterKind } from '../../providers/parameters.js';
import type { Provider, ProviderRegistry } from '../../providers/registry.js';
import type { CatalogStore } from '../../store/port.js';
import type { ConsistencyHooks } from '../consistency.js';
import type { OperationRequest } from '../engine.js';

/** What every step of one operation needs, read once (or re-read by another worker). */
export interface OperationState {
  provider: Provider;
  graph: ResourceGraph;
  /** The parameters hooks resolve theirs from (a plan's, a restore's, a verification's). */
  parameters: Record<string, unknown>;
  /** The plan the checkpoint belongs to: events name it. */
  planId: string;
  /** Quiesce/unquiesce commands around `main`, by resource ref (protect only; empty otherwise). */
  consistency: Map<string, ConsistencyHooks>;
  /** The newest available checkpoint of the plan before this one (protect: plugins skip unchanged data). */
  previousCheckpointId: string | null;
}

export interface KindDeps {
  providers: ProviderRegistry;
  store: CatalogStore;
}

/** What a kind may hand its hooks from the process running them. */
export interface HookDeps {
  /** This process's restore policy: restore hooks check what they write against it, when they write. */
  restorePolicy: RestorePolicy;
}

/** How the hook tasks ended, as a kind records it. */
export interface Ending {
  ok: boolean;
  /** The operation's reason to fail, `<code>: <message>`. */
  reason?: string;
  /** Every resource of the graph. */
  refs: string[];
  /** Why resources failed or were skipped, by ref (a kind may add to it). */
  reasons: Record<string, string>;
}

/** The record recovery failed for an abandoned operation, by the list of its report it belongs in. */
export type Abandoned = { list: 'checkpoints' | 'restores' | 'verifications'; id: string } | null;

export interface OperationKindSpec<R extends OperationRequest> {
  /** Which of a plugin's parameter schemas a resource's parameters resolve against; null: none. */
  readonly parameterKind: ParameterKind | null;
  /** Whether plugin `revert` hooks run after a failure (protect: remove its half-written data). */
  readonly revertsOnFailure: boolean;
  /**
   * First step, with the operation's lease held: checks the request against the records, marks them
   * in progress and returns the state. Throws BWK_ERR_OPERATION_EXISTS when the id already ran.
   */
  prepare(req: R, provider: Provider, deps: KindDeps): Promise<OperationState>;
  /** The state re-read from the records, for a worker that did not run `prepare` (Temporal). */
  reload(req: R, provider: Provider, deps: KindDeps): Promise<OperationState>;
  /** The plugin operation this kind runs for one resource. */
  operationFor(plugin: ProtectionPlugin, resource: Resource): Operation<never>;
  /** What this kind adds to every hook's context. */
  context(req: R, state: OperationState, resource: Resource, deps: HookDeps): Promise<Record<string, unknown>>;
  /** Records how the operation ended; returns the final status. Idempotent. */
  record(req: R, provider: Provider, deps: KindDeps, ending: Ending): Promise<string>;
  /** Fails the records of an operation whose process died and whose lease `bank` broke. */
  abandon(req: R, bank: BankPlugin, deps: KindDeps, reason: string): Promise<Abandoned>;
}
