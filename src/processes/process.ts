/** What every long-running Bulwark process module returns to the command that started it. */
export interface RunningProcess {
  /** One line for people (the CLI writes it to stderr). */
  note: string;
  /** One JSON line for scripts and tests, written to stdout once the process is ready (API processes). */
  ready?: Record<string, unknown>;
  /** Resolves when the process ends on its own (a worker's runtime stopped it); absent when only `stop` ends it. */
  done?: Promise<void>;
  /**
   * Re-reads what can change without a restart (the API's TLS certificate); the CLI calls it on SIGHUP.
   * Resolves to a note for people; rejects, with the process still serving as before, when the new
   * state does not check out. Absent: the process has nothing to reload.
   */
  reload?(): Promise<string>;
  /** Stops taking work, lets work in progress finish within its own limits, and releases everything. */
  stop(): Promise<void>;
}

/**
 * What a process holds open, closed in reverse order of opening: on `stop`, and also when a later
 * part fails to start, so a process that cannot start leaves no connection or listener behind.
 */
export class Held {
  private readonly closers: Array<() => unknown> = [];

  /** Holds `value` until release; returns it. */
  add<T>(value: T, close: (value: T) => unknown): T {
    this.closers.push(() => close(value));
    return value;
  }

  /** Closes everything held, newest first; the first failure is thrown once all were tried. */
  async release(): Promise<void> {
    let failure: unknown;
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Runs `start`; if it throws, releases what it had opened and rethrows. */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.release().catch(() => undefined);
      throw err;
    }
  }
}
