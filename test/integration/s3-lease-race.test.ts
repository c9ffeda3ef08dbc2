/**
 * Two processes, each with its own S3 bank on one MinIO prefix (as two machines would be), race for
 * the same lease 200 times: half on a fresh lease (If-None-Match: *), half on taking over an expired
 * one (If-Match on its ETag). Every time exactly one wins, the other is told BWK_ERR_LEASE_HELD, and
 * the stored lease is the winner's.
 */
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { S3Bank } from '../../src/bank/adapters/s3.js';
import { emptyPrefix, ensureTestBucket, freshPrefix, requireS3, s3BankOptions, testS3Bank } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

const FACTORY_URL = new URL('../../src/bank/factory.js', import.meta.url).href;

/** A racer: builds its bank through the factory, says ready, then acquires `race-<n>` on each "go <n>" line. */
const RACER = `
import { createInterface } from 'node:readline';
import { createBank } from ${JSON.stringify(FACTORY_URL)};
const bank = createBank({ type: 's3', options: JSON.parse(process.argv[1]) }, process.cwd());
await bank.open();
console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const n = Number(line.split(' ')[1]);
  try {
    const lease = await bank.acquireLease('race-' + n, 60000, { pid: process.pid });
    console.log(JSON.stringify({ n, won: true, token: lease.token }));
  } catch (err) {
    console.log(JSON.stringify({ n, won: false, code: err.code ?? String(err) }));
  }
}
await bank.close();
`;

interface Outcome {
  n: number;
  won: boolean;
  token?: string;
  code?: string;
}

class Racer {
  readonly child: ChildProcessWithoutNullStreams;
  /** Lines that came before anyone asked, and askers waiting for a line. */
  private readonly lines: string[] = [];
  private readonly waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  private stderr = '';

  constructor(options: Record<string, unknown>) {
    this.child = spawn(process.execPath, ['--input-type=module', '-e', RACER, JSON.stringify(options)], { stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(line);
      else this.lines.push(line);
    });
    this.child.once('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`racer exited ${code}: ${this.stderr}`));
    });
  }

  async next(): Promise<Outcome & { ready?: boolean }> {
    const line =
      this.lines.shift() ??
      (await new Promise<string>((resolve, reject) => {
        if (this.child.exitCode !== null) reject(new Error(`racer exited ${this.child.exitCode}: ${this.stderr}`));
        else this.waiting.push({ resolve, reject });
      }));
    return JSON.parse(line) as Outcome & { ready?: boolean };
  }

  go(n: number): Promise<Outcome> {
    const answer = this.next();
    this.child.stdin.write(`go ${n}\n`);
    return answer;
  }
}

describe('s3 bank: two processes racing for one lease', function () {
  this.timeout(240_000);
  const prefix = freshPrefix('race');
  let racers: Racer[] = [];
  let bank: S3Bank;

  before(async function () {
    requireS3(this);
    await ensureTestBucket();
    bank = testS3Bank(prefix);
    racers = [new Racer(s3BankOptions(prefix)), new Racer(s3BankOptions(prefix))];
    for (const r of racers) expect((await r.next()).ready).to.equal(true);
  });
  after(async () => {
    for (const r of racers) r.child.stdin.end();
    await Promise.all(
      racers.map((r) => new Promise((resolve) => (r.child.exitCode === null ? r.child.once('exit', resolve) : resolve(null)))),
    );
    await bank?.close();
    if (racers.length > 0) await emptyPrefix(prefix);
  });

  it('exactly one of the two wins, every time, over 200 tries (fresh and expired leases)', async () => {
    const wins = [0, 0];
    for (let n = 0; n < 200; n++) {
      const takeover = n % 2 === 1;
      if (takeover) {
        await bank.acquireLease(`race-${n}`, 1, { expired: true });
        await sleep(5); // lets it expire: the racers then both try to take it over
      }
      const outcomes = await Promise.all(racers.map((r) => r.go(n)));
      const won = outcomes.filter((o) => o.won);
      expect(won, `try ${n} (${takeover ? 'takeover' : 'fresh'}): ${JSON.stringify(outcomes)}`).to.have.length(1);
      expect(outcomes.find((o) => !o.won)?.code).to.equal('BWK_ERR_LEASE_HELD');
      expect((await bank.getLease(`race-${n}`))?.token).to.equal(won[0]!.token);
      wins[outcomes.indexOf(won[0]!)]!++;
    }
    // Not an assertion on timing: both processes really raced (each won some), or the test proved little.
    expect(wins[0], `wins ${wins}`).to.be.greaterThan(0);
    expect(wins[1], `wins ${wins}`).to.be.greaterThan(0);
  });
});
