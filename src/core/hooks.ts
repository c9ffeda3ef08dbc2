/**
 * The four hooks of a plugin operation, in their order within one resource. One list: the plugin API,
 * the flow graph and the engines derive what they need from it.
 */
export const HOOK_NAMES = ['prepare_begin', 'prepare_finish', 'main', 'complete'] as const;

export type HookName = (typeof HOOK_NAMES)[number];

/** The Operation method that implements each hook (Karbor's snake_case names, camelCase methods). */
export const HOOK_METHODS = {
  prepare_begin: 'prepareBegin',
  prepare_finish: 'prepareFinish',
  main: 'main',
  complete: 'complete',
} as const satisfies Record<HookName, string>;
