/**
 * Where the records of the two reading kinds (restore, verify) live in the catalog, what a missing
 * one is, and how hooks and recovery name them: the one place the two kinds' records differ.
 */
import type { ProtectionPlugin, Resource } from '../../plugins/api.js';
import type { CatalogStore, RestorePatch } from '../../store/port.js';
import type { RestoreRecord, VerificationRecord } from '../../store/records.js';

/** Each reading kind's record. */
export interface ReadingRecord {
  restore: RestoreRecord;
  verify: VerificationRecord;
}
export type ReadingKind = keyof ReadingRecord;

export interface RecordAccess<R> {
  get(store: CatalogStore, projectId: string | null, id: string): Promise<R | null>;
  update(store: CatalogStore, projectId: string, id: string, patch: RestorePatch): Promise<unknown>;
  notFound: 'BWK_ERR_RESTORE_NOT_FOUND' | 'BWK_ERR_VERIFICATION_NOT_FOUND';
  operationFor(plugin: ProtectionPlugin, resource: Resource): ReturnType<ProtectionPlugin['getRestoreOperation' | 'getVerifyOperation']>;
  /** The context key a hook finds its record id under. */
  idKey: 'restoreId' | 'verificationId';
  /** The recovery report's list of this kind. */
  list: 'restores' | 'verifications';
}

export const READING_RECORDS: { [K in ReadingKind]: RecordAccess<ReadingRecord[K]> } = {
  restore: {
    get: (store, projectId, id) => store.getRestore(projectId, id),
    update: (store, projectId, id, patch) => store.updateRestore(projectId, id, patch),
    notFound: 'BWK_ERR_RESTORE_NOT_FOUND',
    operationFor: (plugin, resource) => plugin.getRestoreOperation(resource),
    idKey: 'restoreId',
    list: 'restores',
  },
  verify: {
    get: (store, projectId, id) => store.getVerification(projectId, id),
    update: (store, projectId, id, patch) => store.updateVerification(projectId, id, patch),
    notFound: 'BWK_ERR_VERIFICATION_NOT_FOUND',
    operationFor: (plugin, resource) => plugin.getVerifyOperation(resource),
    idKey: 'verificationId',
    list: 'verifications',
  },
};
