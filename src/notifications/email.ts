/**
 * E-mail targets: one plain-text message per subscription and batch (a burst of failures within
 * notifications.email.batch_ms is one message), through the configured SMTP relay. The text says
 * what happened, to what, and what to do next, and links to the checkpoint's console page when
 * console_url is set. The relay password is read from its variable when a message is sent.
 */
import { createTransport } from 'nodemailer';
import type { NotificationsConfig } from '../common/config.js';
import { bwkError } from '../core/errors.js';
import type { DeliveryRow } from '../store/notifications.js';

type EmailConfig = NotificationsConfig['email'];

interface EventData {
  operation_id: string;
  kind: string;
  status: string;
  project_id: string;
  provider_id: string;
  checkpoint_id: string;
  plan_id: string | null;
  reason?: string;
}

const BAD = new Set(['error', 'fail']);

/** What to do next, by outcome: the reader should not need the docs to take the first step. */
function nextStep(d: EventData): string {
  if (d.kind === 'protect' && d.status === 'error')
    return `Nothing was protected by this run. Fix the cause above, then run: bulwark checkpoint create --plan ${d.plan_id ?? '<plan id>'}`;
  if (d.kind === 'verify' && d.status === 'fail')
    return `The checkpoint may be damaged: do not rely on it. Check the bank (bulwark bank check) and protect the plan again.`;
  if (d.kind === 'restore' && d.status === 'fail') return 'The restore did not complete: fix the cause above and restore again.';
  if (BAD.has(d.status)) return 'Fix the cause above and run the operation again.';
  return 'Nothing to do.';
}

function consoleLink(config: EmailConfig, d: EventData): string | null {
  if (!config.console_url) return null;
  const base = config.console_url.endsWith('/') ? config.console_url : `${config.console_url}/`;
  return `${base}#/checkpoints/${encodeURIComponent(d.provider_id)}/${encodeURIComponent(d.checkpoint_id)}`;
}

/** The subject and plain-text body of one message about `deliveries` (all of one subscription). */
export function emailMessage(config: EmailConfig, deliveries: readonly DeliveryRow[]): { subject: string; text: string } {
  const events = deliveries.map((d) => (JSON.parse(d.payload) as { data: EventData; time: string }).data);
  const first = events[0]!;
  const bad = events.filter((e) => BAD.has(e.status)).length;
  const subject =
    events.length === 1
      ? `Bulwark: ${first.kind} ${BAD.has(first.status) ? 'failed' : 'ended'} (${first.status}) in project ${first.project_id}`
      : `Bulwark: ${events.length} operations ended in project ${first.project_id}${bad ? ` (${bad} failed)` : ''}`;
  const blocks = events.map((e, i) => {
    const link = consoleLink(config, e);
    return [
      `${events.length > 1 ? `${i + 1}. ` : ''}A ${e.kind} operation ended with status "${e.status}".`,
      `   Plan: ${e.plan_id ?? '(unknown)'}`,
      `   Checkpoint: ${e.checkpoint_id} (provider ${e.provider_id})`,
      `   Operation: ${e.operation_id}`,
      ...(e.reason ? [`   Why: ${e.reason}`] : []),
      `   Next: ${nextStep(e)}`,
      ...(link ? [`   Console: ${link}`] : []),
    ].join('\n');
  });
  const text = [
    ...blocks,
    '',
    '-- ',
    'Sent by Bulwark for a notification subscription of this project (bulwark subscription list).',
    '',
  ].join('\n');
  return { subject, text };
}

/** Sends one message through the relay; rejects with the relay's answer when it refuses. */
export async function sendEmail(config: EmailConfig, to: readonly string[], message: { subject: string; text: string }, timeoutMs: number) {
  if (!config.smtp_host) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'notifications.email.smtp_host is not set' });
  let pass: string | undefined;
  if (config.password_env) {
    pass = process.env[config.password_env];
    if (pass === undefined)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `the SMTP password variable ${config.password_env} is not set` });
  }
  const transport = createTransport({
    host: config.smtp_host,
    port: config.smtp_port,
    secure: config.smtp_tls === 'implicit',
    requireTLS: config.smtp_tls === 'starttls',
    ignoreTLS: config.smtp_tls === 'none',
    ...(config.smtp_user ? { auth: { user: config.smtp_user, pass: pass ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({ from: config.from, to: [...to], subject: message.subject, text: message.text });
  } finally {
    transport.close();
  }
}
