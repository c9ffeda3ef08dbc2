import { expect } from 'chai';
import { InProcessEvents, type OperationEvent } from '../../src/protection-manager/events.js';
import { ProgressThrottle } from '../../src/protection-manager/progress-throttle.js';
import { SseParser, type SseMessage } from '../../src/api/event-stream-client.js';

const progress = (operationId: string, resource: string, done: number) =>
  ({ type: 'progress', operationId, resource, done, unit: 'bytes' }) as const;

describe('ProgressThrottle', () => {
  const setup = () => {
    const bus = new InProcessEvents();
    const seen: OperationEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    // A clock that never moves: every report after the first falls inside the interval.
    return { throttle: new ProgressThrottle(bus, 250, () => 1_000), seen };
  };

  it('sends the first report of an operation, keeps the rest, and flushes the latest when the hook ends', () => {
    const { throttle, seen } = setup();
    for (let done = 1; done <= 100; done++) throttle.report(progress('op', 'r', done));
    expect(seen.map((e) => (e as { done: number }).done)).to.deep.equal([1]);
    throttle.flush('op', 'r');
    expect(seen.map((e) => (e as { done: number }).done)).to.deep.equal([1, 100]);
    throttle.flush('op', 'r');
    expect(seen).to.have.length(2);
  });

  it('throttles per operation: another operation reports at once; resources keep their own latest', () => {
    const { throttle, seen } = setup();
    throttle.report(progress('a', 'r1', 1));
    throttle.report(progress('a', 'r2', 5));
    throttle.report(progress('a', 'r1', 2));
    throttle.report(progress('b', 'r1', 7));
    expect(seen.map((e) => [e.operationId, (e as { done: number }).done])).to.deep.equal([
      ['a', 1],
      ['b', 7],
    ]);
    throttle.flush('a', 'r2');
    throttle.flush('a', 'r1');
    expect(seen.map((e) => [e.operationId, (e as { resource: string }).resource, (e as { done: number }).done])).to.deep.equal([
      ['a', 'r1', 1],
      ['b', 'r1', 7],
      ['a', 'r2', 5],
      ['a', 'r1', 2],
    ]);
  });
});

describe('SseParser', () => {
  it('reads messages split anywhere across chunks, CRLF included, skipping comments', () => {
    const got: SseMessage[] = [];
    const parser = new SseParser((m) => got.push(m));
    const text = ': keep-alive\r\n\r\nevent: progress\r\ndata: {"a":1}\r\n\r\nevent: status\ndata: x\ndata: y\n\n';
    for (const piece of text.match(/[\s\S]{1,3}/g)!) parser.push(piece);
    expect(got).to.deep.equal([
      { event: 'progress', data: '{"a":1}' },
      { event: 'status', data: 'x\ny' },
    ]);
  });
});
