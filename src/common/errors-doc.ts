import { ERRORS } from '../core/errors.js';

/** docs/errors.md, rendered from the registry. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, s]) => `| \`${code}\` | ${s.status} | ${s.retryable ? 'yes' : 'no'} | ${s.message.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error Bulwark reports carries a stable `code` (never reused), a message that says what was',
    'wrong and what to do, and `details` with the values in the message. The CLI prints',
    '`error: <message> [<code>]` on stderr, or `{"code": ..., "message": ...}` with `-o json`, and exits 1;',
    'the REST API answers with the HTTP status below. Match on `code`, never on the message text.',
    '',
    '"Retryable" errors are retried by the engine with backoff (bounded by `tasks.retry`);',
    'the others fail the task at once. Plugins may throw errors carrying any of these codes, and',
    '`retryable: true` to ask for a retry.',
    '',
    'This file is generated from `src/core/errors.ts` by `npm run docs:errors`.',
    '',
    '| code | HTTP | retryable | message |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
