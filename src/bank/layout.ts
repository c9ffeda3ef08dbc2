import { createHash } from 'node:crypto';
import { sortableTimestamp } from '../common/ids.js';

/**
 * The one module that knows bank key paths (like Velero's object_store_layout.go). Nothing else
 * builds a key by hand, so the layout can change in one place.
 *
 *   checkpoints/<id>/index.json                           checkpoint record
 *   checkpoints/<id>/resources/<resource-key>/...         plugin data for one resource
 *   indices/by-plan/<plan>/<ts>@<id>                      listing without scanning
 *   indices/by-project/<project>/<ts>@<id>
 *   indices/by-provider/<provider>/<project>/<ts>@<id>
 *   indices/by-date/<yyyy-mm-dd>/<ts>@<id>
 *   leases/<owner>                                        lease of a running operation
 *   chunks/config.json                                    chunk store: chunker, encryption (no secrets)
 *   chunks/packs/<pack>                                   chunks stored back to back
 *   chunks/index/<pack>                                   what a pack holds; written after the pack
 *   chunks/fossils/<pack>                                 a pack GC found unused, kept until no operation
 *                                                         that could still reference it is running
 */

export const CHECKPOINTS = 'checkpoints/';
export const LEASES = 'leases/';

export const checkpointPrefix = (id: string): string => `${CHECKPOINTS}${id}/`;
export const checkpointIndexKey = (id: string): string => `${checkpointPrefix(id)}index.json`;
export const resourcePrefix = (checkpointId: string, resourceKey: string): string =>
  `${checkpointPrefix(checkpointId)}resources/${resourceKey}/`;
/** Whether a key lies under some resourcePrefix: only plugin data can hold chunk lists. */
export const isResourceDataKey = (key: string): boolean => key.startsWith(CHECKPOINTS) && key.includes('/resources/');

export const leaseKey = (owner: string): string => `${LEASES}${owner}`;

export const CHUNK_CONFIG = 'chunks/config.json';
export const PACKS = 'chunks/packs/';
export const PACK_INDEXES = 'chunks/index/';
export const packKey = (pack: string): string => `${PACKS}${pack}`;
export const packIndexKey = (pack: string): string => `${PACK_INDEXES}${pack}`;
export const FOSSILS = 'chunks/fossils/';
export const fossilKey = (pack: string): string => `${FOSSILS}${pack}`;
/** Pack names start with their creation time, so GC can tell packs written since a lease began. */
export const newPackName = (now: Date, random: string): string => `${sortableTimestamp(now)}-${random}`;
export const packCreatedAt = (pack: string): string => pack.slice(0, pack.indexOf('-'));
/** The lease `bulwark bank gc` holds: one collector per bank at a time. */
export const GC_LEASE_OWNER = 'bank-gc';

/**
 * A bank-safe, bounded-length directory name for a resource: ids are arbitrary (absolute paths,
 * URLs), so the name is the type plus a hash of the id; the id itself is stored inside.
 */
export function resourceKey(type: string, id: string): string {
  const safeType = type.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${safeType}_${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

export interface IndexEntry {
  ts: string;
  id: string;
}

export const indexEntryName = (createdAt: Date, id: string): string => `${sortableTimestamp(createdAt)}@${id}`;

export function parseIndexEntry(key: string): IndexEntry | null {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const at = name.indexOf('@');
  if (at <= 0) return null;
  return { ts: name.slice(0, at), id: name.slice(at + 1) };
}

export const byPlanPrefix = (planId: string): string => `indices/by-plan/${planId}/`;
export const byProjectPrefix = (projectId: string): string => `indices/by-project/${projectId}/`;
export const byProviderPrefix = (providerId: string, projectId?: string): string =>
  `indices/by-provider/${providerId}/${projectId === undefined ? '' : `${projectId}/`}`;
export const byDatePrefix = (): string => 'indices/by-date/';

/** Every index key of one checkpoint; written on create, removed on delete. */
export function checkpointIndexKeys(c: {
  id: string;
  project_id: string;
  provider_id: string;
  plan_id: string;
  created_at: string;
}): string[] {
  const created = new Date(c.created_at);
  const entry = indexEntryName(created, c.id);
  const day = c.created_at.slice(0, 10);
  return [
    `${byPlanPrefix(c.plan_id)}${entry}`,
    `${byProjectPrefix(c.project_id)}${entry}`,
    `${byProviderPrefix(c.provider_id, c.project_id)}${entry}`,
    `${byDatePrefix()}${day}/${entry}`,
  ];
}

/** What a plugin stored with `ctx.saveInfo()` for one resource; outside the plugin's own section. */
export const savedInfoKey = (checkpointId: string, resourceKey: string): string =>
  `${checkpointPrefix(checkpointId)}saved-info/${resourceKey}.json`;

/** Lease owner of an operation. */
export const operationLeaseOwner = (operationId: string): string => `operation-${operationId}`;
