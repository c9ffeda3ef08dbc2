/**
 * The built-in `fs.directory` plugin: protects a directory tree into a bank section and restores,
 * verifies and deletes it. Uses only the public plugin API, like a third-party plugin would.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type {
  BankSection,
  DeleteContext,
  Operation,
  PluginDefinition,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  ResourceSchemas,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
} from '../api.js';
import { bwkError } from '../../core/errors.js';
import { protectDirectory } from './archive-writer.js';
import { FS_DIRECTORY, FsDirectoryProtectable } from './protectable.js';
import { checkRestoreTarget } from './restore-target.js';
import { restoreDirectory } from './restore-writer.js';
import { FS_DIRECTORY_SCHEMAS } from './schemas.js';
import { verifyDirectory } from './verify.js';

/** Removes every object of the section (a checkpoint being deleted, or a failed protect). */
async function deleteSection(bank: BankSection): Promise<void> {
  for (const name of await bank.list()) await bank.delete(name);
}

export class FsDirectoryProtection implements ProtectionPlugin {
  supportedResourceTypes(): string[] {
    return [FS_DIRECTORY];
  }

  schemas(resourceType: string): ResourceSchemas {
    if (resourceType !== FS_DIRECTORY) {
      throw bwkError('BWK_ERR_RESOURCE_TYPE_UNKNOWN', { type: resourceType, provider: 'fs.directory plugin', supported: FS_DIRECTORY });
    }
    return FS_DIRECTORY_SCHEMAS;
  }

  getProtectOperation(_resource: Resource): Operation<ProtectContext> {
    return {
      main: protectDirectory,
      revert: (ctx) => deleteSection(ctx.bank),
    };
  }

  getRestoreOperation(_resource: Resource): Operation<RestoreContext> {
    return { main: restoreDirectory };
  }

  getVerifyOperation(_resource: Resource): Operation<VerifyContext> {
    return { main: verifyDirectory };
  }

  getDeleteOperation(_resource: Resource): Operation<DeleteContext> {
    return { main: (ctx) => deleteSection(ctx.bank) };
  }

  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): Promise<void> {
    return checkRestoreTarget(resource, parameters, policy);
  }
}

export const fsDirectoryPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'fs.directory',
  description: 'Protects a directory tree (files, directories, symlinks, modes, owners, mtimes) and restores it under a target path.',
  create: () => ({
    protection: new FsDirectoryProtection(),
    protectables: [new FsDirectoryProtectable()],
  }),
};

export default fsDirectoryPlugin;
