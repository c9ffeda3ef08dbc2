/**
 * Runs one plugin's hooks the way the engine does, outside the engine: a real bank section (the
 * memory bank through the chunk store, as every bank is read), contexts with validated parameters,
 * hooks in Karbor's order for one resource, and a log that keeps every line for the secret checks.
 */
import { Readable } from 'node:stream';
import { createBank } from '../bank/factory.js';
import { ChunkStore } from '../bank/chunks/store.js';
import { PrefixedBankSection } from '../bank/section.js';
import { createLogger } from '../common/logging.js';
import type { Logger } from '../common/logging.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../common/schema.js';
import type {
  BankSection,
  HookContext,
  Operation,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
} from '../plugins/api.js';
import { resourceRef } from '../plugins/api.js';

/** The order the engine runs one resource's hooks in. */
export const HOOK_ORDER = ['prepareBegin', 'prepareFinish', 'main', 'complete'] as const;
export type HookKey = (typeof HOOK_ORDER)[number];

/** Every log line and error the plugin produced during a suite, for the "no secret" promise. */
export class Evidence {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  readonly savedInfos: Record<string, unknown>[] = [];
  readonly logger: Logger = createLogger((line) => this.lines.push(line), 'debug');

  /** Records an error as every place it could surface would show it: message, fields, causes. */
  noteError(err: unknown, depth = 0): void {
    if (depth > 4 || err === null || err === undefined) return;
    if (err instanceof Error) {
      this.errors.push(`${err.name}: ${err.message}`, JSON.stringify({ ...err }), err.stack ?? '');
      this.noteError((err as { cause?: unknown }).cause, depth + 1);
    } else this.errors.push(String(err));
  }
}

/** A fresh bank and one resource section in it; `close()` stops the chunk store's workers. */
export class ScratchBank {
  readonly store = new ChunkStore(createBank({ type: 'memory' }, '/'), { workers: 1 }, 'conformance');
  readonly section: BankSection;

  constructor(resource: Resource) {
    this.section = new PrefixedBankSection(this.store, 'checkpoints/conformance/resources/r/', resourceRef(resource));
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Validates parameters as the engine does before a hook runs (defaults applied); throws what a caller would see. */
export function validated(schema: object | undefined, params: Record<string, unknown>, what: string): Record<string, unknown> {
  const copy = structuredClone(params);
  if (schema !== undefined) {
    const validate = compileSchema(schema);
    if (!validate(copy))
      throw new Error(`${what} refused by its schema: ${describeSchemaError(sortSchemaErrors(validate.errors ?? [])[0]!)}`);
  }
  return copy;
}

export interface RunOptions {
  signal?: AbortSignal;
  resumeState?: unknown;
  /** Run from this hook on (a retried task resumes at the hook that died). */
  from?: HookKey;
}

/** The outcome of a hook sequence: which hook was running when it stopped, and the last resume state saved. */
export interface RunResult {
  failedHook: HookKey | null;
  error: unknown;
  resumeState: unknown;
  /** Hooks that were started and whether each settled before the signal was aborted. */
  ran: HookKey[];
}

/**
 * Runs an operation's hooks in order. Like the engine, it starts no further hook once the signal is
 * aborted; a hook that fails stops the sequence.
 */
export async function runHooks<C extends HookContext>(op: Operation<C>, ctx: C, opts: RunOptions = {}): Promise<RunResult> {
  const result: RunResult = { failedHook: null, error: null, resumeState: opts.resumeState ?? null, ran: [] };
  let started = opts.from === undefined;
  for (const key of HOOK_ORDER) {
    if (!started && key !== opts.from) continue;
    started = true;
    const hook = op[key];
    if (hook === undefined) continue;
    if (opts.signal?.aborted) {
      result.failedHook = key;
      result.error = opts.signal.reason;
      return result;
    }
    result.ran.push(key);
    // A retried task gets what its hook saved; any other hook starts afresh.
    result.resumeState = key === opts.from ? (opts.resumeState ?? null) : null;
    const hookCtx: C = {
      ...ctx,
      resumeState: result.resumeState,
      saveResumeState: (state: unknown) => {
        result.resumeState = JSON.parse(JSON.stringify(state ?? null)) as unknown;
      },
    };
    try {
      await hook.call(op, hookCtx);
    } catch (err) {
      result.failedHook = key;
      result.error = err;
      return result;
    }
  }
  return result;
}

export interface Contexts {
  plugin: ProtectionPlugin;
  resource: Resource;
  evidence: Evidence;
  policy: RestorePolicy;
}

function base(c: Contexts, bank: BankSection, parameters: Record<string, unknown>, signal: AbortSignal | undefined): HookContext {
  return {
    operationId: 'conformance-operation',
    checkpointId: 'conformance-checkpoint',
    projectId: 'conformance-project',
    resource: c.resource,
    parameters,
    bank,
    signal: signal ?? new AbortController().signal,
    logger: c.evidence.logger.child({ resource: resourceRef(c.resource) }),
    progress: () => undefined,
    resumeState: null,
    saveResumeState: () => undefined,
  };
}

/** A protect context whose saveInfo checks the saved_info schema, as the engine does, and keeps what was saved. */
export function protectContext(
  c: Contexts,
  bank: BankSection,
  parameters: Record<string, unknown>,
  signal?: AbortSignal,
): { ctx: ProtectContext; saved: () => Record<string, unknown> | null } {
  const schemas = c.plugin.schemas(c.resource.type);
  let info: Record<string, unknown> | null = null;
  const ctx: ProtectContext = {
    ...base(c, bank, validated(schemas.options, parameters, 'plan parameters'), signal),
    previous: null,
    saveInfo: async (given) => {
      const copy = validated(schemas.saved_info, JSON.parse(JSON.stringify(given)) as Record<string, unknown>, 'saveInfo()');
      info = copy;
      c.evidence.savedInfos.push(copy);
    },
  };
  return { ctx, saved: () => info };
}

export function restoreContext(
  c: Contexts,
  bank: BankSection,
  parameters: Record<string, unknown>,
  savedInfo: Record<string, unknown> | null,
): RestoreContext {
  return {
    ...base(c, bank, validated(c.plugin.schemas(c.resource.type).restore, parameters, 'restore parameters'), undefined),
    restoreId: 'conformance-restore',
    policy: c.policy,
    savedInfo,
  };
}

export function verifyContext(c: Contexts, bank: BankSection, savedInfo: Record<string, unknown> | null): VerifyContext {
  return {
    ...base(c, bank, validated(c.plugin.schemas(c.resource.type).verify, {}, 'verify parameters'), undefined),
    verificationId: 'conformance-verification',
    savedInfo,
  };
}

/**
 * Rewrites one stored object through the section with one plaintext byte changed (`mask` XORed in):
 * the bank still checks out, so only the plugin's own checks can tell. Calling it again undoes it.
 */
export async function flipStoredByte(section: BankSection, name: string, at: number, mask: number): Promise<void> {
  const chunked = await section.getChunkList(name).then(
    () => true,
    () => false,
  );
  const bytes = await section.get(name);
  bytes[at] = bytes[at]! ^ mask;
  if (chunked) await section.putStream(name, Readable.from([bytes]));
  else await section.put(name, bytes);
}
