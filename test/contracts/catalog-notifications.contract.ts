/**
 * Catalog contract cases of issue 22: notification subscriptions and their webhook outbox.
 * Registered by describeCatalogContract, so every adapter (SQLite, PostgreSQL) runs them.
 */
import { expect } from 'chai';
import type { CatalogHarness } from './catalog.contract.js';
import type { EndedOperation } from '../../src/store/notifications.js';

const ended = (operationId: string, status: string, projectId = 'na'): EndedOperation => ({
  operationId,
  kind: 'protect',
  status,
  projectId,
  planId: '11111111-1111-4111-8111-111111111111',
  eventType: `org.bulwark.operation.protect.${status}`,
  payload: (id) => JSON.stringify({ id }),
});

export function notificationCases(harness: () => CatalogHarness): void {
  it('notifications: subscriptions per project, matching outbox rows once per event, claimed by one owner', async () => {
    const { notifications: n } = harness().store;
    const { secret, record } = await n.createSubscription({
      project_id: 'na',
      target_type: 'webhook',
      url: 'https://example.com/hook',
      filter: { kinds: ['protect'], outcomes: ['error'], plan_ids: [] },
    });
    expect(secret).to.match(/^bwkwh_/);
    expect(record).to.not.have.property('secret');
    expect(await n.getSubscription('nb', record.id)).to.equal(null);
    expect(await n.listSubscriptions('nb')).to.deep.equal([]);
    expect((await n.listSubscriptions(null)).map((s) => s.id)).to.deep.equal([record.id]);

    expect(await n.enqueue(ended('op-1', 'available'))).to.equal(0); // outcome filtered out
    expect(await n.enqueue(ended('op-2', 'error', 'nb'))).to.equal(0); // another project
    expect(await n.enqueue(ended('op-3', 'error'))).to.equal(1);
    expect(await n.enqueue(ended('op-3', 'error'))).to.equal(0); // the same event again

    const now = new Date().toISOString();
    const later = new Date(Date.now() + 60_000).toISOString();
    const [first, second] = await Promise.all([n.claimDue('one', now, later, 10), n.claimDue('two', now, later, 10)]);
    expect(first!.length + second!.length).to.equal(1);
    const [winner, claimed] = first!.length === 1 ? ['one', first![0]!] : ['two', second![0]!];
    expect(claimed.subscription!.secret).to.equal(secret);
    expect(JSON.parse(claimed.delivery.payload)).to.deep.equal({ id: 'op-3.error' });

    await n.recordAttempt(winner, claimed.delivery.id, { outcome: 'retry', statusCode: 500, error: 'HTTP 500', nextAttemptAt: now });
    let [log] = await n.listDeliveries('na', record.id);
    expect(log).to.include({ status: 'pending', attempts: 1, last_status_code: 500, next_attempt_at: now });
    expect(await n.listDeliveries('nb', record.id)).to.deep.equal([]);
    const [again] = await n.claimDue('two', new Date().toISOString(), later, 10);
    await n.recordAttempt('one', again!.delivery.id, { outcome: 'delivered', statusCode: 204 }); // not its claim: ignored
    await n.recordAttempt('two', again!.delivery.id, { outcome: 'delivered', statusCode: 204 });
    [log] = await n.listDeliveries('na', record.id);
    expect(log).to.include({ status: 'delivered', attempts: 2, last_status_code: 204, last_error: null, next_attempt_at: null });

    await n.disableSubscription(record.id, 'gone');
    expect(await n.enqueue(ended('op-4', 'error'))).to.equal(0);
    expect(await n.deleteSubscription('nb', record.id)).to.equal(false);
    expect(await n.deleteSubscription('na', record.id)).to.equal(true);
    expect(await n.listDeliveries(null, record.id)).to.deep.equal([]);
  });
}
