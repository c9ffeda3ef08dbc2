import { expect } from 'chai';
import { Writable } from 'node:stream';
import { showProgress } from '../../src/cli/progress.js';
import { InProcessEvents } from '../../src/protection-manager/events.js';

/** A stand-in terminal: a real Writable that says it is a TTY, as process.stderr does on a terminal. */
function terminal(isTTY: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => text };
}

const SUBJECT = { projectId: 'p', providerId: 'prov', checkpointId: 'op-1', planId: 'plan' };

describe('CLI progress bar', () => {
  it('draws tasks and bytes on a terminal, for its own operation only', () => {
    const events = new InProcessEvents();
    const tty = terminal(true);
    const stop = showProgress(events, 'op-1', tty.stream);
    events.publish({ type: 'operation_started', operationId: 'op-1', kind: 'protect', total_tasks: 2, ...SUBJECT });
    events.publish({ type: 'task_started', operationId: 'op-1', task: 'fs.directory#/a|main', resource: 'fs.directory#/a' });
    events.publish({
      type: 'progress',
      operationId: 'op-1',
      resource: 'fs.directory#/a',
      done: 512 * 1024,
      total: 1024 * 1024,
      unit: 'bytes',
    });
    events.publish({ type: 'progress', operationId: 'op-2', resource: 'x', done: 9, total: 9, unit: 'bytes' });
    events.publish({ type: 'task_succeeded', operationId: 'op-1', task: 'fs.directory#/a|main', resource: 'fs.directory#/a' });
    events.publish({ type: 'operation_finished', operationId: 'op-1', kind: 'protect', status: 'available', ...SUBJECT });
    stop();
    const frames = tty.text().split('\r').filter(Boolean);
    expect(frames.some((f) => f.includes('[############------------] 0/2 tasks 512.0 KiB/1.0 MiB'))).to.equal(true);
    expect(frames.some((f) => f.includes('1/2 tasks'))).to.equal(true);
    expect(tty.text()).to.not.include('9 B');
    expect(tty.text().endsWith('\n')).to.equal(true);
  });

  it('stop ends the bar line and draws nothing after it (the result prints on a line of its own)', () => {
    const events = new InProcessEvents();
    const tty = terminal(true);
    const stop = showProgress(events, 'op-1', tty.stream);
    events.publish({ type: 'operation_started', operationId: 'op-1', kind: 'protect', total_tasks: 1, ...SUBJECT });
    stop();
    const atStop = tty.text();
    expect(atStop.endsWith('\n')).to.equal(true);
    // The server's stream may still deliver the end after the CLI saw the final record.
    events.publish({ type: 'operation_finished', operationId: 'op-1', kind: 'protect', status: 'available', ...SUBJECT });
    stop();
    expect(tty.text()).to.equal(atStop);
  });

  it('stays silent when stderr is not a terminal (scripts, CI, pipes)', () => {
    const events = new InProcessEvents();
    const pipe = terminal(false);
    const stop = showProgress(events, 'op-1', pipe.stream);
    events.publish({ type: 'operation_started', operationId: 'op-1', kind: 'protect', total_tasks: 1, ...SUBJECT });
    stop();
    expect(pipe.text()).to.equal('');
  });
});
