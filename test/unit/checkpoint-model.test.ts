import { expect } from 'chai';
import { assertTransition, canTransition } from '../../src/checkpoints/model.js';
import type { CheckpointStatus } from '../../src/checkpoints/model.js';

const STATUSES: readonly CheckpointStatus[] = ['protecting', 'copying', 'available', 'error', 'deleting', 'deleted'];

/**
 * The legal moves, written out here from the documented life cycle rather than read from the module:
 * protect ends available or error; delete starts from either; a delete ends deleted, or error when it
 * failed (so it can be retried), or back to available when refused before touching data. A copy or
 * import ends available or error, and a failed one is resumed from error.
 */
const LEGAL = new Set([
  'protecting>available',
  'protecting>error',
  'copying>available',
  'copying>error',
  'error>copying',
  'available>deleting',
  'error>deleting',
  'deleting>deleted',
  'deleting>error',
  'deleting>available',
]);

/** Where each target status may be reached from, as the refusal message lists it. */
const allowedFrom = (to: CheckpointStatus): string => STATUSES.filter((from) => LEGAL.has(`${from}>${to}`)).join(', ') || 'nowhere';

describe('checkpoint state machine', () => {
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      const legal = LEGAL.has(`${from}>${to}`);
      it(`${legal ? 'allows' : 'refuses'} ${from} → ${to}`, () => {
        expect(canTransition(from, to)).to.equal(legal);
        if (legal) {
          expect(() => assertTransition('cp-1', from, to, 'move')).not.to.throw();
          return;
        }
        let caught: { code?: string; message: string; status?: number; details?: Record<string, unknown> } | undefined;
        try {
          assertTransition('cp-1', from, to, `become ${to}`);
        } catch (err) {
          caught = err as typeof caught;
        }
        expect(caught, 'expected BWK_ERR_CHECKPOINT_STATE').not.to.equal(undefined);
        expect(caught!.code).to.equal('BWK_ERR_CHECKPOINT_STATE');
        expect(caught!.status).to.equal(409);
        expect(caught!.message).to.equal(`checkpoint cp-1 is ${from}: cannot become ${to} (allowed from: ${allowedFrom(to)})`);
        expect(caught!.details).to.include({ id: 'cp-1', status: from });
      });
    }
  }

  it('has a terminal state: nothing leaves deleted, and nothing returns to protecting', () => {
    expect(STATUSES.filter((to) => canTransition('deleted', to))).to.deep.equal([]);
    expect(STATUSES.filter((from) => canTransition(from, 'protecting'))).to.deep.equal([]);
  });

  it('reaches deleted from every state that can exist after protect, only through deleting', () => {
    for (const start of ['available', 'error'] as const) {
      expect(canTransition(start, 'deleted')).to.equal(false);
      expect(canTransition(start, 'deleting') && canTransition('deleting', 'deleted')).to.equal(true);
    }
  });
});
