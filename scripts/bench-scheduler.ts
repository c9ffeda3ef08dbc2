/**
 * `npm run bench:scheduler`: the operation engine's two costs, in one run.
 *
 * 1. Next-fire rate: 10,000 time triggers of varied patterns (crontab and calendar RRULEs, in
 *    thirteen IANA zones, most with daylight saving) are validated (checkTriggerProperties, which
 *    also walks 200 fires for the minimum-interval check), built as the engine builds them
 *    (scheduleOf), and asked for their next fire and their next 10 fires. Median of --reps runs.
 * 2. Due-to-started latency: --ops scheduled protects, each of its own one-resource noop plan, all
 *    due in the same minute (one `* * * * *` trigger, min_interval_ms lowered to 60 s), fired by an
 *    OperationEngine (SoloLeader, injected clock, start()ed with tick_interval_ms) on the local engine
 *    and on the temporal engine (worker in this process) with a SQLite catalog in a temp home. Per
 *    fire: started_at - due_at of its operation log row; and the wall time until every log is started
 *    and until every log is `success`.
 *
 * A Temporal dev server is started with scripts/temporal-dev.sh on a free port (its own state
 * directory, stopped afterwards) unless TEMPORAL_ADDRESS is set. Options: --triggers N, --reps R,
 * --ops N, --tick-ms T, --only fires|local|temporal (repeatable, comma-separated), --results FILE
 * (default bench/scheduler-results.md; --results - writes none), --timeout-s S per engine run.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OperationEngine } from '../src/operation-engine/engine.js';
import { SoloLeader } from '../src/operation-engine/leader.js';
import { CatalogScheduling } from '../src/operation-engine/scheduling.js';
import type { TimeSchedule, TriggerLimits } from '../src/operation-engine/time-trigger.js';
import { checkTriggerProperties, scheduleOf } from '../src/operation-engine/trigger-properties.js';
import { openBulwark } from '../src/processes/app.js';
import type { RequestContext } from '../src/protection-manager/request.js';
import type { OperationLogRecord } from '../src/store/scheduling-records.js';
import { median } from '../bench/stats.js';

const { values } = parseArgs({
  options: {
    triggers: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '5' },
    ops: { type: 'string', default: '1000' },
    'tick-ms': { type: 'string', default: '1000' },
    only: { type: 'string', default: 'fires,local,temporal' },
    results: { type: 'string', default: 'bench/scheduler-results.md' },
    'timeout-s': { type: 'string', default: '420' },
  },
});
const TRIGGERS = Number(values.triggers);
const REPS = Number(values.reps);
const OPS = Number(values.ops);
const TICK_MS = Number(values['tick-ms']);
const ONLY = new Set(values.only.split(','));
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// 1. Next-fire rate
// ---------------------------------------------------------------------------------------------

/** Deterministic (mulberry32), so every run measures the same 10,000 triggers. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Thirteen zones: no DST, northern and southern DST, half- and quarter-hour offsets, a 30-minute DST shift. */
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'America/St_Johns',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
];
/** The instant the triggers are made and asked from: four days before Europe's and a week and a half before Australia's DST change. */
const NO_DST = new Set(['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Tokyo']);
const REFERENCE = Date.parse('2027-03-24T12:00:00Z');
const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

type Kind = string;
interface TriggerSpec {
  kind: Kind;
  properties: Record<string, unknown>;
}

function triggerSpecs(count: number): TriggerSpec[] {
  const r = prng(16);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const m = () => int(0, 59);
  const h = () => int(0, 23);
  const cal = (rule: string, dtstart?: string) =>
    ['BEGIN:VEVENT', ...(dtstart ? [`DTSTART:${dtstart}`] : []), `RRULE:${rule}`, 'END:VEVENT'].join('\n');
  let zone = 'UTC';
  const ymd = (t: number) => new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
  const patterns: Array<[Kind, () => Record<string, unknown>]> = [
    ['cron daily', () => ({ pattern: `${m()} ${h()} * * *` })],
    // Minute 0 in zones with daylight saving: `5 * * * *` in Berlin is refused in the week before the
    // spring change (its 02:05 falls in the gap and fires at 03:00, 55 minutes after 01:05).
    ['cron hourly', () => ({ pattern: `${zone === 'UTC' || NO_DST.has(zone) ? m() : 0} * * * *` })],
    ['cron every N hours', () => ({ pattern: `${m()} */${pick([2, 3, 4, 6, 8, 12])} * * *` })],
    ['cron twice a day', () => ({ pattern: `${m()} ${int(0, 11)},${int(12, 23)} * * *` })],
    ['cron weekdays', () => ({ pattern: `${m()} ${h()} * * ${pick(['MON-FRI', '1-5', 'MON,WED,FRI', 'TUE-SAT'])}` })],
    ['cron business hours', () => ({ pattern: `${m()} ${pick(['8-18/2', '9-17', '7-19/3'])} * * 1-5` })],
    ['cron weekly', () => ({ pattern: `${m()} ${h()} * * ${pick(['SUN', 'SAT', '0', '7', '3'])}` })],
    ['cron monthly', () => ({ pattern: `${m()} ${h()} ${pick(['1', '15', '1,15', '28', '31'])} * *` })],
    ['cron quarterly', () => ({ pattern: `${m()} ${h()} 1 ${pick(['*/3', 'JAN,APR,JUL,OCT', '1-12/3'])} *` })],
    ['cron day-of-month or weekday', () => ({ pattern: `${m()} ${h()} 1 * SUN` })],
    ['cron DST hour', () => ({ pattern: `${pick(['0', '15', '30', '45'])} ${pick(['1', '2', '3'])} * * *` })],
    ['cal daily', () => ({ format: 'calendar', pattern: cal(`FREQ=DAILY;BYHOUR=${h()};BYMINUTE=${m()}`) })],
    [
      'cal weekly',
      () => ({
        format: 'calendar',
        pattern: cal(`FREQ=WEEKLY;BYDAY=${pick(['MO', 'MO,WE,FR', 'SA,SU', 'TU,TH', pick(DAYS)])};BYHOUR=${h()};BYMINUTE=${m()}`),
      }),
    ],
    [
      'cal biweekly (DTSTART)',
      () => ({
        format: 'calendar',
        pattern: cal(
          `FREQ=WEEKLY;INTERVAL=2;BYDAY=${pick(DAYS)};BYHOUR=${h()};BYMINUTE=${m()}`,
          `${ymd(REFERENCE - int(1, 400) * 86_400_000)}T000000`,
        ),
      }),
    ],
    [
      'cal monthly',
      () => ({
        format: 'calendar',
        pattern: cal(
          `FREQ=MONTHLY;${pick(['BYMONTHDAY=1', 'BYMONTHDAY=15', 'BYMONTHDAY=-1', 'BYDAY=-1FR', 'BYDAY=1MO'])};BYHOUR=${h()};BYMINUTE=0`,
        ),
      }),
    ],
    [
      'cal every N hours (UNTIL)',
      () => ({
        format: 'calendar',
        pattern: cal(
          `FREQ=HOURLY;INTERVAL=${pick([1, 2, 4, 6, 12])};BYMINUTE=${m()};UNTIL=${ymd(REFERENCE + int(30, 700) * 86_400_000)}T000000Z`,
        ),
      }),
    ],
  ];
  const out: TriggerSpec[] = [];
  for (let i = 0; i < count; i++) {
    const [kind, make] = patterns[i % patterns.length]!;
    zone = ZONES[int(0, ZONES.length - 1)]!;
    // The stored form (what checkTriggerProperties returns for it): format and window always present.
    const properties: Record<string, unknown> = { format: 'crontab', ...make(), timezone: zone, window: pick([60, 300, 900, 3600]) };
    const bounds = r();
    if (bounds < 0.2) properties.start_time = new Date(REFERENCE - int(0, 30) * 86_400_000).toISOString();
    else if (bounds < 0.3) properties.start_time = new Date(REFERENCE + int(1, 6) * 86_400_000).toISOString();
    if (r() < 0.15) properties.end_time = new Date(REFERENCE + int(60, 900) * 86_400_000).toISOString();
    out.push({ kind, properties });
  }
  return out;
}

/** The configuration's defaults. */
const LIMITS: TriggerLimits = { minIntervalMs: 3_600_000, windowMinSeconds: 60, windowMaxSeconds: 86_400 };

/** Nearest-rank quantile. */
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil(q * s.length) - 1))]!;
};
const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const out = f();
  return [out, performance.now() - t];
};

interface FireResult {
  triggers: number;
  crontab: number;
  calendar: number;
  zones: number;
  reps: number;
  /** Validation, on a sample with every kind (the full 10,000 would take far too long: see calendar). */
  validateSample: { crontab: number; calendar: number };
  validateCronMs: number;
  validateCalMs: number;
  refused: string[];
  buildMs: number;
  nextMs: number;
  next10Ms: number;
  next10Fires: number;
  ended: number;
  dstCrossed: number;
  kinds: Array<{ kind: Kind; count: number; usNext: number; usPer10: number }>;
  aging: Array<{ rule: string; ageDays: number; msFirst: number }>;
}

function measureFires(validatePerKind: number): FireResult {
  const specs = triggerSpecs(TRIGGERS);
  const kindsOf = [...new Set(specs.map((s) => s.kind))];
  const sample = kindsOf.flatMap((k) => specs.filter((s) => s.kind === k).slice(0, validatePerKind));
  const cronSample = sample.filter((s) => s.properties.format === 'crontab');
  const calSample = sample.filter((s) => s.properties.format === 'calendar');
  const refused: string[] = [];
  const validate = (xs: TriggerSpec[]) =>
    xs.forEach((s) => {
      try {
        checkTriggerProperties('time', s.properties, LIMITS, REFERENCE);
      } catch (err) {
        refused.push(`${s.kind} ${JSON.stringify(s.properties)}: ${(err as Error).message}`);
      }
    });
  log(`next-fire rate: ${specs.length} triggers, 1 warm-up + ${REPS} reps (validation on ${sample.length} of them)...`);
  validate(sample.slice(0, 2 * kindsOf.length));
  const warm = specs.map((s) => scheduleOf(s.properties, REFERENCE));
  for (const s of warm) s.nextDue(REFERENCE);
  refused.length = 0;
  const reps: Array<{ vCron: number; vCal: number; build: number; next: number; next10: number; fires: number; ended: number }> = [];
  let schedules: TimeSchedule[] = [];
  for (let i = 0; i < REPS; i++) {
    const [, vCron] = time(() => validate(cronSample));
    const [, vCal] = time(() => validate(calSample));
    const [built, build] = time(() => specs.map((s) => scheduleOf(s.properties, REFERENCE)));
    schedules = built;
    const [sink, next] = time(() => schedules.reduce((sum, s) => sum + (s.nextDue(REFERENCE) ?? 0), 0));
    if (sink === 0) throw new Error('no fire computed');
    const [[fires, ended], next10] = time(() => {
      let n = 0;
      let none = 0;
      for (const s of schedules) {
        for (let k = 0, after = REFERENCE; k < 10; k++) {
          const due = s.nextDue(after);
          if (due === null) {
            none++;
            break;
          }
          n++;
          after = due;
        }
      }
      return [n, none];
    });
    reps.push({ vCron, vCal, build, next, next10, fires, ended });
    log(
      `  rep ${i + 1}: validate ${cronSample.length} crontab ${vCron.toFixed(0)} ms, ${calSample.length} calendar ${vCal.toFixed(0)} ms; ` +
        `build ${build.toFixed(0)} ms, next fire ${next.toFixed(0)} ms, next 10 fires ${next10.toFixed(0)} ms`,
    );
  }
  const offset = (t: number, zone: string) =>
    new Intl.DateTimeFormat('en', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(t).find((p) => p.type === 'timeZoneName')!
      .value;
  let dstCrossed = 0;
  schedules.forEach((s, i) => {
    const zone = String(specs[i]!.properties.timezone);
    let after = REFERENCE;
    for (let k = 0; k < 10; k++) after = s.nextDue(after) ?? after;
    if (offset(REFERENCE, zone) !== offset(after, zone)) dstCrossed++;
  });
  const kinds = kindsOf.map((kind) => {
    const idx = specs.flatMap((s, i) => (s.kind === kind ? [i] : []));
    const fresh = idx.map((i) => scheduleOf(specs[i]!.properties, REFERENCE));
    const [, msNext] = time(() => fresh.forEach((s) => s.nextDue(REFERENCE)));
    const [, ms10] = time(() =>
      fresh.forEach((s) => {
        for (let k = 0, after: number | null = REFERENCE; k < 10 && after !== null; k++) after = s.nextDue(after);
      }),
    );
    return { kind, count: idx.length, usNext: (msNext * 1000) / idx.length, usPer10: (ms10 * 1000) / idx.length };
  });
  // The engine builds a calendar schedule anchored at its trigger's created_at (or DTSTART / start_time) at every
  // tick that finds it due: what the first nextDue costs as the rule gets older.
  const aging: FireResult['aging'] = [];
  for (const rule of ['FREQ=DAILY;BYHOUR=3;BYMINUTE=5', 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=3;BYMINUTE=5', 'FREQ=HOURLY;INTERVAL=2;BYMINUTE=5']) {
    const pattern = `BEGIN:VEVENT\nRRULE:${rule}\nEND:VEVENT`;
    for (const ageDays of [0, 30, 365]) {
      const n = 10;
      const [, ms] = time(() => {
        for (let i = 0; i < n; i++)
          scheduleOf({ format: 'calendar', pattern, timezone: 'Europe/Berlin', window: 60 }, REFERENCE - ageDays * 86_400_000 + i).nextDue(
            REFERENCE,
          );
      });
      aging.push({ rule, ageDays, msFirst: ms / n });
    }
  }
  return {
    triggers: specs.length,
    crontab: specs.filter((s) => s.properties.format === 'crontab').length,
    calendar: specs.filter((s) => s.properties.format === 'calendar').length,
    zones: ZONES.length,
    reps: REPS,
    validateSample: { crontab: cronSample.length, calendar: calSample.length },
    validateCronMs: median(reps.map((r) => r.vCron)),
    validateCalMs: median(reps.map((r) => r.vCal)),
    refused: [...new Set(refused)],
    buildMs: median(reps.map((r) => r.build)),
    nextMs: median(reps.map((r) => r.next)),
    next10Ms: median(reps.map((r) => r.next10)),
    next10Fires: reps[0]!.fires,
    ended: reps[0]!.ended,
    dstCrossed,
    kinds,
    aging,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Due-to-started latency
// ---------------------------------------------------------------------------------------------

const PROVIDER = '5d3c1c52-7a0e-4f1b-9c7e-2b6f0e1d9a44';
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LatencyResult {
  engine: 'local' | 'temporal';
  ops: number;
  setupS: number;
  logs: number;
  statuses: Record<string, number>;
  claimMedianMs: number;
  claimMaxMs: number;
  startedMedianMs: number;
  startedP95Ms: number;
  startedMaxMs: number;
  allStartedS: number | null;
  allEndedS: number | null;
  allSuccessS: number | null;
  timedOut: boolean;
}

async function measureLatency(engine: 'local' | 'temporal', temporalAddress?: string): Promise<LatencyResult> {
  const home = mkdtempSync(join(tmpdir(), `bwk-bench-sched-${engine}-`));
  const ids = Array.from({ length: OPS }, (_, i) => `r${String(i).padStart(5, '0')}`);
  const engineConfig = `{min_interval_ms: 60000, tick_interval_ms: ${TICK_MS}}`;
  const temporalConfig =
    `{address: "${temporalAddress}", task_queue: bench-sched-${randomUUID().slice(0, 8)}, run_worker: true, ` +
    `max_concurrent_activities: 32}`;
  try {
    writeFileSync(
      join(home, 'bulwark.yaml'),
      [
        `engine: ${engine}`,
        `operation_engine: ${engineConfig}`,
        `quotas: {plans_per_project: ${OPS + 10}, triggers_per_project: 10, scheduled_operations_per_project: ${OPS + 10}}`,
        ...(engine === 'temporal' ? [`temporal: ${temporalConfig}`] : []),
        '',
      ].join('\n'),
    );
    mkdirSync(join(home, 'providers'), { recursive: true });
    writeFileSync(
      join(home, 'providers', 'bench.yaml'),
      `id: ${PROVIDER}\nname: bench\nplugins:\n  - name: noop\n    options: {resources: [${ids.join(', ')}]}\nbank: {type: fs}\n`,
    );
    // BULWARK_ENGINE would override the file: this run says which engine it measures.
    delete process.env.BULWARK_ENGINE;
    const setupStart = performance.now();
    const app = await openBulwark(home);
    try {
      const ctx: RequestContext = { projectId: 'default', admin: false };
      // Made "two minutes ago", so the due minute is already past when the engine starts (no waiting for a real minute).
      const madeAt = Date.now() - 2 * MINUTE;
      const due = (Math.floor(madeAt / MINUTE) + 1) * MINUTE;
      const scheduling = new CatalogScheduling({ store: app.store, service: app.manager, config: app.config, now: () => madeAt });
      // Every minute, ending at the due minute: exactly one fire per scheduled operation, however long the run takes.
      const trigger = await scheduling.createTrigger(ctx, {
        name: 'every minute',
        type: 'time',
        properties: { pattern: '* * * * *', window: 3600, end_time: new Date(due).toISOString() },
      });
      for (const id of ids) {
        const plan = await app.manager.createPlan(ctx, { name: `bench ${id}`, provider_id: PROVIDER, resources: [{ type: 'noop', id }] });
        const op = await scheduling.createScheduledOperation(ctx, {
          name: `protect ${id}`,
          operation_type: 'protect',
          trigger_id: trigger.id,
          operation_definition: { plan_id: plan.id },
        });
        if (op.next_due_at !== new Date(due).toISOString())
          throw new Error(`next_due_at ${op.next_due_at}, expected ${new Date(due).toISOString()}`);
      }
      const setupS = (performance.now() - setupStart) / 1000;
      log(`${engine}: ${OPS} scheduled protects due at ${new Date(due).toISOString()} (set up in ${setupS.toFixed(1)} s); engine started`);

      // The engine's clock runs at real speed from 1 ms after the due minute: started_at - due_at is wall time.
      const t0 = Date.now();
      const offset = due + 1 - t0;
      const opEngine = new OperationEngine({
        store: app.store,
        service: app.manager,
        events: app.events,
        leader: new SoloLeader(),
        config: app.config.operation_engine,
        logger: app.logger,
        now: () => Date.now() + offset,
      });
      opEngine.start();
      let timedOut = false;
      let lastReport = 0;
      for (;;) {
        await sleep(500);
        if ((await app.store.scheduling.activeRuns(1)).length === 0 && (await logsOf()).length >= OPS) break;
        if (Date.now() - t0 > TIMEOUT_MS) {
          timedOut = true;
          break;
        }
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          const logs = await logsOf();
          const started = logs.filter((l) => l.started_at !== null).length;
          log(
            `  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${logs.length} claimed, ${started} started, ` +
              `${count(logs)['success'] ?? 0} success`,
          );
        }
      }
      const observedS = (Date.now() - t0) / 1000;
      await opEngine.stop();
      const logs = await logsOf();
      const since = (iso: string) => Date.parse(iso) - (due + 1);
      const statuses = count(logs);
      const started = logs.filter((l) => l.started_at !== null);
      const lat = started.map((l) => Date.parse(l.started_at!) - Date.parse(l.due_at!));
      const claim = logs.map((l) => Date.parse(l.created_at) - Date.parse(l.due_at!));
      const ended = logs.filter((l) => l.ended_at !== null);
      const allStarted = started.length === OPS;
      const allSuccess = (statuses['success'] ?? 0) === OPS;
      return {
        engine,
        ops: OPS,
        setupS,
        logs: logs.length,
        statuses,
        claimMedianMs: median(claim),
        claimMaxMs: Math.max(...claim),
        startedMedianMs: median(lat),
        startedP95Ms: quantile(lat, 0.95),
        startedMaxMs: Math.max(...lat),
        allStartedS: allStarted ? Math.max(...started.map((l) => since(l.started_at!))) / 1000 : null,
        allEndedS: ended.length === OPS ? Math.max(...ended.map((l) => since(l.ended_at!))) / 1000 : null,
        // Seen by polling the catalog every 500 ms.
        allSuccessS: allSuccess ? observedS : null,
        timedOut,
      };

      async function logsOf(): Promise<OperationLogRecord[]> {
        const out: OperationLogRecord[] = [];
        for (let marker: string | undefined; ;) {
          const page = await app.scheduling.listOperationLogs(ctx, { limit: 1000, sort: 'asc', ...(marker ? { marker } : {}) });
          out.push(...page.filter((l) => l.scheduled_operation_id !== null));
          if (page.length < 1000) return out;
          marker = page.at(-1)!.id;
        }
      }
    } finally {
      await app.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const count = (logs: OperationLogRecord[]): Record<string, number> =>
  logs.reduce<Record<string, number>>((acc, l) => ({ ...acc, [l.status]: (acc[l.status] ?? 0) + 1 }), {});

// ---------------------------------------------------------------------------------------------
// A Temporal dev server of this run's own
// ---------------------------------------------------------------------------------------------

const portFree = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const server = createServer()
      .once('error', () => done(false))
      .once('listening', () => server.close(() => done(true)))
      .listen(port, '127.0.0.1');
  });

interface DevServer {
  address: string;
  stop(): void;
}

/** scripts/temporal-dev.sh on a free port with its own state directory, so no other server (a developer's, CI's) is touched. */
async function startTemporal(): Promise<DevServer> {
  let port = 0;
  for (let i = 0; i < 50 && port === 0; i++) {
    const p = 17_300 + Math.floor(Math.random() * 2000);
    if ((await Promise.all([p, p + 1, p + 2, p + 3, p + 10, p + 20].map(portFree))).every(Boolean)) port = p;
  }
  if (port === 0) throw new Error('no free port for a Temporal dev server');
  const state = mkdtempSync(join(tmpdir(), 'bwk-bench-temporal-'));
  const env = { ...process.env, TEMPORAL_PORT: String(port), TEMPORAL_STATE_DIR: state };
  const script = join(ROOT, 'scripts', 'temporal-dev.sh');
  log(`temporal: starting a dev server on 127.0.0.1:${port} (scripts/temporal-dev.sh)...`);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    let pid = 0;
    try {
      pid = Number(readFileSync(join(state, `server-${port}.pid`), 'utf8'));
    } catch {
      // not started
    }
    try {
      execFileSync(script, ['stop'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      // Its SQLite file goes only once it has exited (it takes a few seconds after SIGTERM).
      for (const until = Date.now() + 15_000; pid > 0 && Date.now() < until;) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        execFileSync('sleep', ['0.2']);
      }
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  };
  try {
    const out = execFileSync(script, ['start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const address = /TEMPORAL_ADDRESS=(\S+)/.exec(out)?.[1];
    if (!address) throw new Error(`scripts/temporal-dev.sh start printed no address: ${out}`);
    return { address, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const s1 = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)} s`);
const ms0 = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${n0(x)} ms`);

function fireTable(f: FireResult): string[] {
  const per = (ms: number, n: number) => `${n0((n / ms) * 1000)}/s`;
  const cronMs = f.validateCronMs / f.validateSample.crontab;
  const calMs = f.validateCalMs / f.validateSample.calendar;
  return [
    `**Next-fire rate**: ${n0(f.triggers)} triggers (${n0(f.crontab)} crontab, ${n0(f.calendar)} calendar RRULEs; ` +
      `${f.zones} zones; ${n0(f.dstCrossed)} of them cross a UTC-offset change within their next 10 fires), median of ${f.reps} reps.`,
    '',
    '| step | triggers | time | rate |',
    '| --- | ---: | ---: | ---: |',
    `| validate (checkTriggerProperties, walks 200 fires), crontab | ${f.validateSample.crontab} (sample) | ${ms0(f.validateCronMs)} ` +
      `| ${cronMs.toFixed(2)} ms/trigger |`,
    `| validate, calendar | ${f.validateSample.calendar} (sample) | ${ms0(f.validateCalMs)} | ${calMs.toFixed(0)} ms/trigger |`,
    `| validate, all ${n0(f.triggers)} (extrapolated from the samples) | ${n0(f.triggers)} | ` +
      `~${n0((cronMs * f.crontab + calMs * f.calendar) / 1000)} s | ${per(cronMs * f.crontab + calMs * f.calendar, f.triggers)} |`,
    `| build schedule (scheduleOf) | ${n0(f.triggers)} | ${ms0(f.buildMs)} | ${per(f.buildMs, f.triggers)} |`,
    `| next fire (nextDue) | ${n0(f.triggers)} | ${ms0(f.nextMs)} | **${per(f.nextMs, f.triggers)} fires** |`,
    `| next 10 fires each | ${n0(f.triggers)} (${n0(f.next10Fires)} fires) | ${ms0(f.next10Ms)} | ` +
      `**${per(f.next10Ms, f.next10Fires)} fires** |`,
  ];
}

function kindTable(f: FireResult): string[] {
  return [
    'Per pattern kind (fresh schedules, one pass): µs for the next fire and for the next 10 fires of one trigger.',
    '',
    '| kind | triggers | next fire | next 10 fires |',
    '| --- | ---: | ---: | ---: |',
    ...f.kinds.map((k) => `| ${k.kind} | ${k.count} | ${k.usNext.toFixed(0)} µs | ${k.usPer10.toFixed(0)} µs |`),
    '',
    "A calendar schedule's first nextDue by the age of its anchor (created_at, DTSTART or start_time), Europe/Berlin:",
    '',
    '| rule | anchor 0 d back | 30 d | 365 d |',
    '| --- | ---: | ---: | ---: |',
    ...[...new Set(f.aging.map((a) => a.rule))].map(
      (rule) =>
        `| \`${rule}\` | ${f.aging
          .filter((a) => a.rule === rule)
          .map((a) => `${a.msFirst.toFixed(2)} ms`)
          .join(' | ')} |`,
    ),
  ];
}

function latencyTable(rs: LatencyResult[]): string[] {
  if (rs.length === 0) return [];
  return [
    `**Due-to-started latency**: ${rs[0]!.ops} scheduled protects (each its own one-resource noop plan), all due in the same minute; ` +
      `SQLite catalog; engine start()ed with tick_interval_ms ${TICK_MS} (poll_interval_ms 2000, default), clock 1 ms past the due minute.`,
    '',
    '| engine | started − due: median | p95 | max | all started | all logs ended | all `success` seen | ' +
      'claimed − due (median / max) | statuses |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rs.map(
      (r) =>
        `| ${r.engine} | ${ms0(r.startedMedianMs)} | ${ms0(r.startedP95Ms)} | ${ms0(r.startedMaxMs)} | ` +
        `${s1(r.allStartedS)} | ${s1(r.allEndedS)} | ` +
        `${s1(r.allSuccessS)}${r.timedOut ? ` (stopped at ${TIMEOUT_MS / 1000} s)` : ''} | ` +
        `${ms0(r.claimMedianMs)} / ${ms0(r.claimMaxMs)} | ` +
        `${Object.entries(r.statuses)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
    ),
  ];
}

const START = '<!-- bench:scheduler results: start (written by npm run bench:scheduler) -->';
const END = '<!-- bench:scheduler results: end -->';

function writeResults(file: string, body: string[]): void {
  const section = [START, ...body, END].join('\n');
  let text: string;
  try {
    const old = readFileSync(file, 'utf8');
    const [a, b] = [old.indexOf(START), old.indexOf(END)];
    text = a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END.length) : `${old.trimEnd()}\n\n${section}\n`;
  } catch {
    text = `# Operation engine: next-fire rate and due-to-started latency\n\n${section}\n`;
  }
  writeFileSync(file, text);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

const wallStart = performance.now();
const fires = ONLY.has('fires') ? measureFires(5) : null;
const latencies: LatencyResult[] = [];
let temporalNote = '';
if (ONLY.has('local')) latencies.push(await measureLatency('local'));
if (ONLY.has('temporal')) {
  let server: DevServer | undefined;
  const onSignal = () => {
    server?.stop();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const address = process.env.TEMPORAL_ADDRESS ?? (server = await startTemporal()).address;
    temporalNote = server ? 'its own dev server from scripts/temporal-dev.sh (stopped afterwards)' : `TEMPORAL_ADDRESS=${address}`;
    latencies.push(await measureLatency('temporal', address));
  } finally {
    server?.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
const totalS = (performance.now() - wallStart) / 1000;

const argv = process.argv.slice(2);
const cpu = cpus();
const body = [
  '',
  `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on the development machine (${cpu.length} cores, ` +
    `${cpu[0]?.model.trim() ?? 'unknown CPU'}; Node ${process.versions.node}); whole run ${totalS.toFixed(0)} s.`,
  '',
  '```',
  `npm run bench:scheduler${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  '```',
  '',
  ...(fires ? [...fireTable(fires), '', ...kindTable(fires), ''] : []),
  ...(fires && fires.refused.length ? [`Refused by validation: ${fires.refused.join('; ')}`, ''] : []),
  ...(latencies.length
    ? [...latencyTable(latencies), '', ...(temporalNote ? [`Temporal: ${temporalNote}, worker in the benchmark's process.`, ''] : [])]
    : []),
];
process.stdout.write(`${body.join('\n')}\n`);
if (values.results !== '-') {
  writeResults(values.results, body);
  log(`written to ${values.results}`);
}
