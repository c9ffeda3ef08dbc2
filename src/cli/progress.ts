import { escapeControlChars } from '../core/control-chars.js';
import type { OperationEvent, OperationEvents } from '../protection-manager/events.js';

const human = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};

/**
 * A one-line progress bar on a terminal's stderr, fed by operation events. Off when stderr is not a
 * TTY (scripts, CI, `-o json` piping), so output stays clean.
 */
export function showProgress(events: OperationEvents, operationId: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => undefined;
  let total = 0;
  let finished = 0;
  const bytes = new Map<string, { done: number; total?: number }>();
  let current = '';
  const draw = () => {
    const done = [...bytes.values()].reduce((a, b) => a + b.done, 0);
    const all = [...bytes.values()].reduce((a, b) => a + (b.total ?? 0), 0);
    const fraction = all > 0 ? Math.min(1, done / all) : total > 0 ? finished / total : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '-');
    // A protect learns its total only at the end (a directory is read once): until then, what it read so far.
    const data = all > 0 ? ` ${human(done)}/${human(all)}` : done > 0 ? ` ${human(done)}` : '';
    stream.write(
      `\r[${bar}] ${finished}/${total} tasks${data} ${current}`.slice(0, (stream.columns || 100) - 1).padEnd((stream.columns || 100) - 1),
    );
  };
  // Whether the cursor is on a bar line that no newline has ended yet.
  let open = false;
  let stopped = false;
  const unsubscribe = events.subscribe((e: OperationEvent) => {
    if (stopped || e.operationId !== operationId) return;
    if (e.type === 'operation_started') total = e.total_tasks;
    // A task's name holds its resource id (a path, say): shown, never acted on by the terminal.
    else if (e.type === 'task_started') current = escapeControlChars(e.task);
    else if (e.type === 'task_succeeded' || e.type === 'task_failed' || e.type === 'task_skipped') finished++;
    else if (e.type === 'progress' && e.unit !== 'items')
      bytes.set(e.resource, { done: e.done, ...(e.total !== undefined ? { total: e.total } : {}) });
    else if (e.type === 'operation_finished') {
      draw();
      stream.write('\n');
      open = false;
      return;
    }
    draw();
    open = true;
  });
  /** Stops drawing for good and ends the bar's line, so what is printed next starts on a line of its own. */
  return () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    if (open) stream.write('\n');
  };
}
