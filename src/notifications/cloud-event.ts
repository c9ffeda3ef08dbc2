/**
 * The webhook body: a CloudEvents 1.0 event in structured mode (application/cloudevents+json), and
 * its signature. Only what the operation's finished event carries goes in: ids, kind, status and the
 * public reason (already what `operation show` prints), never parameters or credentials.
 */
import { createHmac } from 'node:crypto';
import type { OperationEvent } from '../protection-manager/events.js';
import type { EndedOperation } from '../store/notifications.js';

type Finished = Extract<OperationEvent, { type: 'operation_finished' }>;

export const SIGNATURE_HEADER = 'x-bulwark-signature';
export const CONTENT_TYPE = 'application/cloudevents+json';

export function endedOperation(e: Finished, time: string = new Date().toISOString()): EndedOperation {
  const eventType = `org.bulwark.operation.${e.kind}.${e.status}`;
  return {
    operationId: e.operationId,
    kind: e.kind,
    status: e.status,
    projectId: e.projectId,
    ...(e.planId !== undefined ? { planId: e.planId } : {}),
    eventType,
    payload: (eventId) =>
      JSON.stringify({
        specversion: '1.0',
        id: eventId,
        source: `/bulwark/projects/${encodeURIComponent(e.projectId)}`,
        type: eventType,
        subject: e.operationId,
        time,
        datacontenttype: 'application/json',
        data: {
          operation_id: e.operationId,
          kind: e.kind,
          status: e.status,
          project_id: e.projectId,
          provider_id: e.providerId,
          checkpoint_id: e.checkpointId,
          plan_id: e.planId ?? null,
          ...(e.reason ? { reason: e.reason } : {}),
        },
      }),
  };
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>` under the subscription's secret. */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}
