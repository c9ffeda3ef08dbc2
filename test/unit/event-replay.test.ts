import { expect } from 'chai';
import { EventReplay } from '../../src/api/event-replay.js';
import { InProcessEvents, type OperationEvent } from '../../src/protection-manager/events.js';

const subject = { projectId: 'p', providerId: 'prov', checkpointId: 'op' };
const started = (id: string): OperationEvent => ({
  type: 'operation_started',
  operationId: id,
  kind: 'protect',
  total_tasks: 3,
  ...subject,
});
const progress = (id: string, resource: string, done: number): OperationEvent => ({
  type: 'progress',
  operationId: id,
  resource,
  done,
  unit: 'bytes',
});

describe('EventReplay (what a late event stream gets first)', () => {
  it("keeps a running operation's start, its task events and each resource's latest figure, in order", () => {
    const bus = new InProcessEvents();
    const replay = new EventReplay(bus);
    bus.publish(started('a'));
    bus.publish(progress('a', 'r1', 10));
    bus.publish({ type: 'task_started', operationId: 'a', task: 'r2|main', resource: 'r2' });
    bus.publish(progress('a', 'r2', 5));
    bus.publish(progress('a', 'r1', 20));
    bus.publish(started('b'));
    expect(replay.history('a')).to.deep.equal([
      started('a'),
      { type: 'task_started', operationId: 'a', task: 'r2|main', resource: 'r2' },
      progress('a', 'r2', 5),
      progress('a', 'r1', 20),
    ]);
    expect(replay.history('b')).to.deep.equal([started('b')]);
    replay.close();
  });

  it('forgets an operation once it finished, and everything on close', () => {
    const bus = new InProcessEvents();
    const replay = new EventReplay(bus);
    bus.publish(started('a'));
    bus.publish(started('b'));
    bus.publish({ type: 'operation_finished', operationId: 'a', kind: 'protect', status: 'available', ...subject });
    expect(replay.history('a')).to.deep.equal([]);
    expect(replay.history('b')).to.have.length(1);
    replay.close();
    bus.publish(progress('b', 'r', 1));
    expect(replay.history('b')).to.deep.equal([]);
  });
});
