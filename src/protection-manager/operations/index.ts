/** Every kind of operation, by its name in OperationRequest.kind. */
import type { OperationKind, OperationRequest } from '../engine.js';
import { deleteKind } from './delete.js';
import type { OperationKindSpec } from './kind.js';
import { protectKind } from './protect.js';
import { restoreKind, verifyKind } from './reading.js';

type Kinds = { [K in OperationKind]: OperationKindSpec<Extract<OperationRequest, { kind: K }>> };

const KINDS: Kinds = { protect: protectKind, restore: restoreKind, verify: verifyKind, delete: deleteKind };

/** The kind of `req`, typed for it. */
export const kindOf = <R extends OperationRequest>(req: R): OperationKindSpec<R> => KINDS[req.kind] as unknown as OperationKindSpec<R>;
