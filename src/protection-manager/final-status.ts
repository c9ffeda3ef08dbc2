/**
 * The statuses an operation's record never leaves: a checkpoint `available`, `error` or `deleted`, a
 * restore or verification `success` or `fail`. Whoever follows an operation (the CLI waiting, an SSE
 * stream) stops there.
 */
const FINAL = new Set(['available', 'error', 'deleted', 'success', 'fail']);

export const isFinalStatus = (status: string): boolean => FINAL.has(status);
