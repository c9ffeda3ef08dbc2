import { expect } from 'chai';
import { BOUNDED_LABELS, metricsRegistry } from '../../src/common/metrics.js';
import '../../src/protection-manager/operation-metrics.js';
import '../../src/operation-engine/schedule-metrics.js';

/**
 * The label-cardinality rule, on the definitions: every Bulwark metric's label names come from the
 * bounded set. A metric that gained `checkpoint`, `operation` or `plan` (one series per operation) fails here.
 */
describe('metrics: label names', () => {
  it('every bulwark_* metric is labelled only by bounded names, and the issue names all exist', async () => {
    const metrics = (await metricsRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('bulwark_'));
    for (const m of metricsRegistry.getMetricsAsArray()) {
      const labelNames = (m as unknown as { labelNames: string[] }).labelNames;
      for (const label of labelNames) expect(BOUNDED_LABELS.has(label), `${m.name ?? ''} is labelled ${label}`).to.equal(true);
    }
    expect(metrics.map((m) => m.name)).to.include.members([
      'bulwark_checkpoint_total',
      'bulwark_checkpoint_duration_seconds',
      'bulwark_checkpoint_bytes',
      'bulwark_restore_total',
      'bulwark_restore_duration_seconds',
      'bulwark_verification_total',
      'bulwark_verification_duration_seconds',
      'bulwark_scheduled_operation_last_success_timestamp_seconds',
      'bulwark_scheduled_fire_total',
      'bulwark_operation_in_progress',
      'bulwark_bank_bytes',
      'bulwark_bank_check_last_success_timestamp_seconds',
    ]);
    for (const forbidden of ['checkpoint', 'checkpoint_id', 'operation', 'operation_id', 'plan', 'plan_id', 'id', 'project'])
      expect(BOUNDED_LABELS.has(forbidden), forbidden).to.equal(false);
  });
});
