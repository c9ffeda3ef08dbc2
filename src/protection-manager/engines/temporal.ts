import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { BulwarkConfig } from '../../common/config.js';
import { bwkError } from '../../core/errors.js';
import type { Logger } from '../../common/logging.js';
import type { Engine, OperationOutcome, OperationRequest } from '../engine.js';
import type { operationWorkflow } from '../../../workflows/operation.js';
import { temporalTls } from './temporal-connection.js';
import { workflowSettings } from './workflow-settings.js';

/**
 * The durable engine: each operation is one Temporal workflow whose id is the operation id, so a
 * duplicate request attaches to the running (or finished) operation instead of starting another.
 * Workers (`bulwark worker`, `bulwark agent`) run the workflow and its activities.
 */
export class TemporalEngine implements Engine {
  readonly name = 'temporal';
  readonly durable = true;

  private constructor(
    private readonly connection: Connection,
    private readonly client: Client,
    private readonly config: BulwarkConfig,
    private readonly logger: Logger,
  ) {}

  static async connect(config: BulwarkConfig, home: string, logger: Logger): Promise<TemporalEngine> {
    const t = config.temporal;
    let connection: Connection;
    try {
      const tls = temporalTls(t, home);
      connection = await Connection.connect({ address: t.address, ...(tls ? { tls } : {}), connectTimeout: 10_000 });
    } catch (err) {
      throw bwkError('BWK_ERR_ENGINE_UNAVAILABLE', {
        engine: 'temporal',
        address: t.address,
        reason: `${(err as Error).message} (start one with scripts/temporal-dev.sh, or set temporal.address)`,
      });
    }
    return new TemporalEngine(connection, new Client({ connection, namespace: t.namespace }), config, logger);
  }

  /** Starts the operation's workflow; a second start with the same id is a no-op. */
  async start(request: OperationRequest): Promise<void> {
    try {
      await this.client.workflow.start<typeof operationWorkflow>('operationWorkflow', {
        taskQueue: this.config.temporal.task_queue,
        workflowId: request.operationId,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ request, settings: workflowSettings(this.config) }],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        this.logger.info('operation already started; attaching to it', { operation: request.operationId });
        return;
      }
      throw err;
    }
  }

  async wait(operationId: string): Promise<OperationOutcome> {
    try {
      return (await this.client.workflow.getHandle(operationId).result()) as OperationOutcome;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        throw bwkError('BWK_ERR_INTERNAL', { reason: `workflow ${operationId} failed: ${err.cause?.message ?? err.message}` });
      }
      throw err;
    }
  }

  async execute(request: OperationRequest): Promise<OperationOutcome> {
    await this.start(request);
    return this.wait(request.operationId);
  }

  async cancel(operationId: string): Promise<void> {
    try {
      await this.client.workflow.getHandle(operationId).cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  /** Whether the operation's workflow is still running (recovery must not fail a live durable operation). */
  async isRunning(operationId: string): Promise<boolean> {
    try {
      const d = await this.client.workflow.getHandle(operationId).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
