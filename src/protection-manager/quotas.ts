/**
 * Per-project quotas on what the catalog stores (issue 14: 150 plans of 1 MB each made every
 * listing a 154 MB answer). Checked by the ProtectionService before anything is written, so every
 * adapter (REST, RPC, CLI) gets the same coded refusal and a refused request changes nothing.
 */
import { bwkError } from '../core/errors.js';
import type { BulwarkConfig } from '../common/config.js';

export type Quotas = BulwarkConfig['quotas'];

/** Size in bytes of `value` as the catalog stores it (JSON, UTF-8). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** Refuses one caller-supplied JSON object (an extra_info, a parameters) larger than quotas.json_object_bytes. */
export function checkObjectSize(what: string, value: unknown, quotas: Quotas): void {
  if (value === undefined || value === null) return;
  const size = jsonBytes(value);
  if (size > quotas.json_object_bytes)
    throw bwkError('BWK_ERR_OBJECT_TOO_LARGE', { what, size, limit: quotas.json_object_bytes, key: 'json_object_bytes' });
}

/** The caller's objects in a plan: each resource's extra_info and the parameters. */
export function checkPlanObjects(
  plan: { resources?: ReadonlyArray<{ type?: unknown; id?: unknown; extra_info?: unknown }>; parameters?: unknown },
  quotas: Quotas,
): void {
  if (!plan || typeof plan !== 'object') return; // not a plan at all: validation says so
  for (const r of Array.isArray(plan.resources) ? plan.resources : [])
    if (r && typeof r === 'object') checkObjectSize(`extra_info of resource ${String(r.type)}#${String(r.id)}`, r.extra_info, quotas);
  checkObjectSize('plan parameters', plan.parameters, quotas);
}

/** A plan as it would be stored (resources, with what plugins added, and parameters): at most quotas.plan_bytes. */
export function checkPlanSize(plan: { resources: unknown; parameters: unknown }, quotas: Quotas): void {
  const size = jsonBytes(plan.resources) + jsonBytes(plan.parameters);
  if (size > quotas.plan_bytes)
    throw bwkError('BWK_ERR_OBJECT_TOO_LARGE', {
      what: "the plan's resources and parameters",
      size,
      limit: quotas.plan_bytes,
      key: 'plan_bytes',
    });
}
