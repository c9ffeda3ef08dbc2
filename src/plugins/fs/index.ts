/**
 * The built-in `fs.directory` plugin: protects a directory tree into a bank section and restores,
 * verifies and deletes it. Uses only the public plugin API, like a third-party plugin would.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type { PluginDefinition } from '../api.js';
import { ownSection, ProtectionTable } from '../protection-table.js';
import { protectDirectory } from './archive-writer.js';
import { FS_DIRECTORY, FsDirectoryProtectable } from './protectable.js';
import { checkRestoreTarget, parseRestoreParams } from './restore-target.js';
import { pathScope } from '../scope-matchers.js';
import { compileExcludes } from './walk.js';
import { restoreDirectory } from './restore-writer.js';
import { FS_DIRECTORY_SCHEMAS } from './schemas.js';
import { verifyDirectory } from './verify.js';

const OPERATIONS = {
  schemas: FS_DIRECTORY_SCHEMAS,
  ...ownSection(protectDirectory),
  restore: { main: restoreDirectory },
  verify: { main: verifyDirectory },
  // Scopes are roots: what a plan may protect lies under one, and so does where a restore writes.
  scope: pathScope((resource, parameters) => [parseRestoreParams(resource, parameters).targetPath]),
};

export const fsDirectoryPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'fs.directory',
  description:
    'Protects a directory tree (files, directories, symlinks, hard links, FIFOs and devices, modes, owners, mtimes, extended ' +
    'attributes, ACLs and capabilities) and restores it under a target path.',
  create: () => ({
    protection: new ProtectionTable(FS_DIRECTORY, [[FS_DIRECTORY, OPERATIONS]], {
      checkRestore: checkRestoreTarget,
      // The same rule protect applies, at plan time: a bad exclude is refused before the plan is stored.
      checkOptions: (_resource, parameters) => {
        compileExcludes(parameters.exclude);
      },
    }),
    protectables: [new FsDirectoryProtectable()],
  }),
};

export default fsDirectoryPlugin;
