import { spawn } from 'node:child_process';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../common/schema.js';

/** One quiesce or unquiesce command of a plan entry. */
export interface ConsistencyCommand {
  /** argv, run without a shell (no quoting surprises, no injection through resource ids). */
  command: string[];
  timeout_ms: number;
  /** fail: the resource fails (a failed `pre` skips its data step); continue: log and go on. */
  on_error: 'fail' | 'continue';
}

export interface ConsistencyHooks {
  pre?: ConsistencyCommand;
  post?: ConsistencyCommand;
}

const COMMAND = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: {
    command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    timeout_ms: { type: 'integer', minimum: 100, maximum: 86_400_000, default: 60_000 },
    on_error: { enum: ['fail', 'continue'], default: 'fail' },
  },
} as const;

export const CONSISTENCY_SCHEMA = { type: 'object', additionalProperties: false, properties: { pre: COMMAND, post: COMMAND } } as const;

/** Validates a plan entry's `consistency` (defaults filled in) or throws BWK_ERR_PLAN_INVALID naming the resource. */
export function checkConsistency(ref: string, value: unknown): ConsistencyHooks {
  const copy = structuredClone(value);
  const validate = compileSchema(CONSISTENCY_SCHEMA);
  if (!validate(copy)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_PLAN_INVALID', { reason: `resource ${ref}: consistency ${describeSchemaError(e)}` });
  }
  return copy as ConsistencyHooks;
}

/**
 * Runs one consistency command with a minimal environment and a timeout; resolves on exit 0, and
 * rejects BWK_ERR_CONSISTENCY_HOOK_FAILED (with the stderr tail) otherwise.
 */
export function runConsistencyCommand(
  ref: string,
  phase: 'pre' | 'post',
  spec: ConsistencyCommand,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const [cmd, ...args] = spec.command;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
      timeout: spec.timeout_ms,
      killSignal: 'SIGKILL',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8', BULWARK_RESOURCE: ref, BULWARK_PHASE: phase },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4096);
    });
    const fail = (why: string) =>
      reject(
        bwkError('BWK_ERR_CONSISTENCY_HOOK_FAILED', { phase, resource: ref, reason: `${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}` }),
      );
    child.on('error', (err) => fail((err as NodeJS.ErrnoException).code === 'ABORT_ERR' ? 'cancelled' : err.message));
    child.on('close', (code, sig) => {
      if (code === 0) {
        logger.info('consistency command succeeded', { resource: ref, phase });
        resolve();
        return;
      }
      fail(sig ? `killed by ${sig}${sig === 'SIGKILL' ? ` (timeout ${spec.timeout_ms} ms?)` : ''}` : `exited ${code}`);
    });
  });
}
