import { bwkError, isBulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../common/schema.js';
import { resourceKey, resourcePrefix, savedInfoKey } from '../bank/layout.js';
import { PrefixedBankSection } from '../bank/section.js';
import { resourceRef, type Resource } from '../core/resource.js';
import type { HookContext } from '../plugins/api.js';
import type { Provider } from '../providers/registry.js';
import type { HookName } from '../core/hooks.js';
import type { ProgressThrottle } from './progress-throttle.js';
import type { OperationRequest } from './engine.js';

/** A resource's section of one checkpoint, through the bank's chunk store. */
export function sectionFor(provider: Provider, checkpointId: string, resource: Resource): PrefixedBankSection {
  const prefix = resourcePrefix(checkpointId, resourceKey(resource.type, resource.id));
  return new PrefixedBankSection(provider.chunks, prefix, resourceRef(resource));
}

/** Builds the context a plugin hook receives: its bank section, parameters, progress and saved info. */
export function hookContext(args: {
  request: OperationRequest;
  provider: Provider;
  resource: Resource;
  parameters: Record<string, unknown>;
  signal: AbortSignal;
  logger: Logger;
  /** Where the hook's progress reports go (the operation's throttle). */
  progress: ProgressThrottle;
  /** The hook the context is for (absent for a revert): progress events name it. */
  hook?: HookName | undefined;
  resume?: { state: unknown; save(state: unknown): void } | undefined;
}): HookContext {
  const { request, provider, resource } = args;
  const ref = resourceRef(resource);
  return {
    operationId: request.operationId,
    checkpointId: request.checkpointId,
    projectId: request.projectId,
    resource,
    parameters: args.parameters,
    bank: sectionFor(provider, request.checkpointId, resource),
    signal: args.signal,
    logger: args.logger.child({ resource: ref, ...(args.hook ? { hook: args.hook } : {}) }),
    progress: (p) =>
      args.progress.report({
        type: 'progress',
        operationId: request.operationId,
        resource: ref,
        ...p,
        ...(args.hook ? { hook: args.hook } : {}),
      }),
    resumeState: args.resume?.state ?? null,
    saveResumeState: (state) => args.resume?.save(state),
  };
}

/** `ctx.saveInfo` for protect: validated against the plugin's saved_info schema, stored beside the data. */
export function saveInfoFn(provider: Provider, checkpointId: string, resource: Resource) {
  return async (info: Record<string, unknown>): Promise<void> => {
    const schema = provider.schemas(resource.type).saved_info;
    if (schema) {
      const validate = compileSchema(schema);
      const copy = structuredClone(info);
      if (!validate(copy)) {
        const e = sortSchemaErrors(validate.errors ?? [])[0]!;
        throw bwkError('BWK_ERR_PLUGIN_INVALID', {
          name: resource.type,
          reason: `saveInfo does not match its saved_info schema: ${describeSchemaError(e)}`,
        });
      }
    }
    // Sealed on an encrypted bank: saved info can hold paths (fs.directory's skipped entries).
    await provider.chunks.putSealed(savedInfoKey(checkpointId, resourceKey(resource.type, resource.id)), Buffer.from(JSON.stringify(info)));
  };
}

export async function loadSavedInfo(provider: Provider, checkpointId: string, resource: Resource): Promise<Record<string, unknown> | null> {
  try {
    const raw = await provider.chunks.getSealed(savedInfoKey(checkpointId, resourceKey(resource.type, resource.id)));
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return null;
    throw err;
  }
}
