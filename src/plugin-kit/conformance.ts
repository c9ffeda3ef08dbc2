/**
 * The plugin conformance suite: what Bulwark promises users about every plugin, checked against a
 * real plugin and real data (the fixture's). Each case names the promise it checks, and a failure
 * says "promise broken: <promise>: <what happened>". Run it with describePluginConformance (mocha)
 * or runPluginConformance (anywhere).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProtectable, checkSchemas } from './static-checks.js';
import type { ConformanceFixtures, PluginFactory } from './fixtures.js';
import type { Contexts, RunResult } from './harness.js';
import { Evidence, flipStoredByte, protectContext, restoreContext, runHooks, ScratchBank, verifyContext } from './harness.js';
import { MeteredSection, SimulatedCrash } from './metered-section.js';
import type { BankSection, PluginDefinition, ProtectablePlugin, ProtectionPlugin, Resource } from '../plugins/api.js';
import { resourceRef } from '../plugins/api.js';

/** A hook still running this long after cancellation is abandoned by the engine (tasks.cancel_grace_ms' default). */
export const CANCEL_GRACE_MS = 10_000;
/** At most this many stored objects get bytes changed (spread over the sorted names). */
const MAX_OBJECTS = 8;

export const PROMISES = {
  schemas: 'schemas are valid JSON Schema and refuse unknown fields',
  listing: 'protectable listing and show agree',
  roundTrip: 'protect then restore gives back equal data',
  verify: 'verify fails when any stored byte changes',
  restoreChecks: 'restore never writes before its data is checked',
  delete: 'delete leaves nothing of the resource in the bank',
  cancel: 'a cancelled hook stops promptly and leaves no completed data',
  resume: 'a hook re-run after a crash finishes without duplicating work',
  secrets: 'no configured secret appears in saved info, logs or errors',
  storesNothing: 'a type that stores no data stores nothing',
} as const;

export class ConformanceFailure extends Error {
  constructor(
    readonly promise: string,
    detail: string,
  ) {
    super(`promise broken: ${promise}: ${detail}`);
    this.name = 'ConformanceFailure';
  }
}

export interface ConformanceCase {
  promise: string;
  /** Resolves 'skip' (with why) when the fixture gives the case nothing to check. */
  run(): Promise<void | { skip: string }>;
}

export interface ConformanceSuite {
  title: string;
  setup(): Promise<void>;
  cases: ConformanceCase[];
  teardown(): Promise<void>;
}

interface Baseline {
  bank: ScratchBank;
  written: number;
  names: string[];
  savedInfo: Record<string, unknown> | null;
}

const describeError = (err: unknown): string =>
  err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);

/** Which stored objects to change: all of them, or MAX_OBJECTS spread over the sorted names. */
function sample(names: string[]): string[] {
  if (names.length <= MAX_OBJECTS) return names;
  return Array.from({ length: MAX_OBJECTS }, (_, i) => names[Math.floor((i * (names.length - 1)) / (MAX_OBJECTS - 1))]!);
}

/** The cases, unattached to a test runner. */
export function conformanceSuite(factory: PluginFactory, fixtures: ConformanceFixtures, title?: string): ConformanceSuite {
  const evidence = new Evidence();
  const banks: ScratchBank[] = [];
  let home = '';
  let definition: PluginDefinition;
  let plugin: ProtectionPlugin;
  let protectables: ProtectablePlugin[] = [];
  let resource: Resource;
  let base: Baseline;
  let c: Contexts;
  const storesData = fixtures.storesData ?? true;

  const scratch = (): ScratchBank => {
    const b = new ScratchBank(resource);
    banks.push(b);
    return b;
  };
  const fail = (promise: string, detail: string): never => {
    throw new ConformanceFailure(promise, detail);
  };
  const noted = (r: RunResult): RunResult => {
    if (r.failedHook !== null) evidence.noteError(r.error);
    return r;
  };

  async function protect(
    section: BankSection,
    signal?: AbortSignal,
  ): Promise<{ run: RunResult; savedInfo: Record<string, unknown> | null }> {
    const { ctx, saved } = protectContext(c, section, fixtures.protectParameters ?? {}, signal);
    const run = noted(await runHooks(plugin.getProtectOperation(resource), ctx, { signal }));
    return { run, savedInfo: saved() };
  }
  const verify = async (section: BankSection, savedInfo: Record<string, unknown> | null): Promise<RunResult> =>
    noted(await runHooks(plugin.getVerifyOperation(resource), verifyContext(c, section, savedInfo)));
  const restore = async (section: BankSection, parameters: Record<string, unknown>, savedInfo: Record<string, unknown> | null) =>
    noted(await runHooks(plugin.getRestoreOperation(resource), restoreContext(c, section, parameters, savedInfo)));

  /** Restores `section` to a fresh destination and compares with the source. */
  async function roundTrip(promise: string, section: BankSection, savedInfo: Record<string, unknown> | null, label: string) {
    const dest = await fixtures.destination(label);
    if (await dest.written()) fail(promise, `the fixture's destination "${label}" is not fresh: it reports data before any restore`);
    const r = await restore(section, dest.parameters, savedInfo);
    if (r.failedHook !== null) fail(promise, `restore failed in ${r.failedHook}: ${describeError(r.error)}`);
    if (storesData && (fixtures.restoreWrites ?? true) && !(await dest.written()))
      fail(promise, `restore reported success but wrote nothing to its destination`);
    try {
      await dest.expectEqualToSource();
    } catch (err) {
      fail(promise, `the restored data differs from the source: ${describeError(err)}`);
    }
  }

  const cases: ConformanceCase[] = [
    {
      promise: PROMISES.schemas,
      run: async () => {
        const dest = await fixtures.destination('schemas');
        const problems = checkSchemas(plugin, protectables, resource.type, {
          options: fixtures.protectParameters ?? {},
          restore: dest.parameters,
          verify: {},
          ...(base.savedInfo === null ? {} : { saved_info: base.savedInfo }),
          list: fixtures.listParameters ?? {},
        });
        if (problems.length > 0) fail(PROMISES.schemas, problems.join('; '));
      },
    },
    {
      promise: PROMISES.listing,
      run: async () => {
        const problems = await checkProtectable(protectables, resource, fixtures, (e) => evidence.noteError(e));
        if (problems.length > 0) fail(PROMISES.listing, problems.join('; '));
      },
    },
    {
      promise: PROMISES.roundTrip,
      run: async () => {
        const v = await verify(base.bank.section, base.savedInfo);
        if (v.failedHook !== null) fail(PROMISES.roundTrip, `verify of an intact checkpoint failed: ${describeError(v.error)}`);
        await roundTrip(PROMISES.roundTrip, base.bank.section, base.savedInfo, 'round-trip');
      },
    },
  ];

  if (storesData) {
    cases.push(
      {
        promise: PROMISES.verify,
        run: async () => {
          const section = base.bank.section;
          for (const name of sample(base.names)) {
            const size = (await section.get(name)).length;
            for (const at of [...new Set([0, Math.floor(size / 2), size - 1])].filter((n) => n >= 0)) {
              await flipStoredByte(section, name, at, 0x01);
              const v = await verify(section, base.savedInfo);
              await flipStoredByte(section, name, at, 0x01);
              if (v.failedHook === null)
                fail(
                  PROMISES.verify,
                  `verify passed with byte ${at} of stored object "${name}" changed: verify must read the data back and check it`,
                );
            }
          }
        },
      },
      {
        promise: PROMISES.restoreChecks,
        run: async () => {
          const section = base.bank.section;
          for (const [i, name] of sample(base.names).entries()) {
            const size = (await section.get(name)).length;
            if (size === 0) continue;
            const at = Math.floor(size / 2);
            const dest = await fixtures.destination(`corrupt-${i}`);
            await flipStoredByte(section, name, at, 0x01);
            const r = await restore(section, dest.parameters, base.savedInfo);
            await flipStoredByte(section, name, at, 0x01);
            if (r.failedHook === null)
              fail(
                PROMISES.restoreChecks,
                `restore succeeded with byte ${at} of stored object "${name}" changed: it restored data it never checked`,
              );
            if (await dest.written())
              fail(
                PROMISES.restoreChecks,
                `a restore of data with byte ${at} of "${name}" changed failed (${describeError(r.error)}) but had already written to ` +
                  'its destination: check the data before writing (write aside, check, then move into place)',
              );
          }
        },
      },
      {
        promise: PROMISES.delete,
        run: async () => {
          const { section } = scratch();
          const p = await protect(section);
          if (p.run.failedHook !== null) fail(PROMISES.delete, `protect failed: ${describeError(p.run.error)}`);
          const d = noted(await runHooks(plugin.getDeleteOperation(resource), { ...verifyContext(c, section, null) }));
          if (d.failedHook !== null) fail(PROMISES.delete, `delete failed in ${d.failedHook}: ${describeError(d.error)}`);
          const left = await section.list();
          if (left.length > 0)
            fail(PROMISES.delete, `delete left ${left.length} of ${base.names.length} stored objects: ${left.join(', ')}`);
        },
      },
      {
        promise: PROMISES.cancel,
        run: async () => {
          const controller = new AbortController();
          let abortedAt = 0;
          const at = Math.max(1, Math.floor(base.written / 4));
          const section = new MeteredSection(scratch().section, {
            at,
            fire: () => {
              abortedAt = Date.now();
              controller.abort(Object.assign(new Error('cancelled by the conformance suite'), { code: 'BWK_ERR_OPERATION_CANCELLED' }));
            },
          });
          const running = protect(section, controller.signal);
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => {
            const check = (): void => {
              if (abortedAt !== 0 && Date.now() - abortedAt > CANCEL_GRACE_MS) resolve('late');
              else timer = setTimeout(check, 100);
            };
            check();
          });
          const outcome = await Promise.race([running, late]);
          clearTimeout(timer);
          if (outcome === 'late')
            return fail(
              PROMISES.cancel,
              `protect was still running ${CANCEL_GRACE_MS} ms after cancellation (the engine abandons such a hook)`,
            );
          if (section.firedAt === null)
            fail(PROMISES.cancel, `protect wrote ${section.written} bytes, fewer than a clean protect's ${base.written}`);
          const after = section.written - section.firedAt!;
          const rest = base.written - section.firedAt!;
          if (after >= rest)
            fail(
              PROMISES.cancel,
              `protect went on writing after cancellation: ${after} more bytes (a clean protect has ${rest} left at that point); ` +
                'pass ctx.signal to streams and child processes and stop when it is aborted',
            );
          const v = await verify(section, outcome.savedInfo);
          if (v.failedHook === null)
            fail(
              PROMISES.cancel,
              'verify accepts what the cancelled protect left: a cancelled hook must not leave data that looks complete',
            );
        },
      },
      {
        promise: PROMISES.resume,
        run: async () => {
          const inner = scratch().section;
          const first = new MeteredSection(inner, {
            at: Math.max(1, Math.floor(base.written / 2)),
            fire: () => {
              throw new SimulatedCrash();
            },
          });
          const { ctx, saved } = protectContext(c, first, fixtures.protectParameters ?? {});
          const op = plugin.getProtectOperation(resource);
          const crashed = await runHooks(op, ctx);
          if (crashed.failedHook === null) fail(PROMISES.resume, 'protect succeeded although a write to the bank failed mid-hook');
          const again = new MeteredSection(inner);
          const rerun = await runHooks(op, { ...ctx, bank: again }, { from: crashed.failedHook!, resumeState: crashed.resumeState });
          if (rerun.failedHook !== null)
            fail(PROMISES.resume, `the re-run of ${crashed.failedHook} after a crash failed: ${describeError(rerun.error)}`);
          const names = await inner.list();
          if (JSON.stringify(names) !== JSON.stringify(base.names))
            fail(
              PROMISES.resume,
              `after the re-run the bank holds [${names.join(', ')}], a clean protect stores [${base.names.join(', ')}]`,
            );
          if (crashed.resumeState !== null && again.written >= base.written)
            fail(
              PROMISES.resume,
              `the hook saved resume state ${JSON.stringify(crashed.resumeState)} but its re-run wrote ${again.written} bytes, ` +
                `as many as a whole protect (${base.written}): resume must skip the work the state says is done`,
            );
          const v = await verify(inner, saved());
          if (v.failedHook !== null) fail(PROMISES.resume, `verify of the re-run's checkpoint failed: ${describeError(v.error)}`);
          await roundTrip(PROMISES.resume, inner, saved(), 'after-crash');
        },
      },
    );
  } else {
    cases.push({
      promise: PROMISES.storesNothing,
      run: async () => {
        if (base.names.length > 0)
          fail(PROMISES.storesNothing, `the fixture says this type stores no data, but protect stored ${base.names.join(', ')}`);
      },
    });
  }

  cases.push({
    promise: PROMISES.secrets,
    run: async () => {
      const secrets = (fixtures.secrets ?? []).filter((s) => s.length > 0);
      if (secrets.length === 0) return { skip: 'the fixture configures no secret' };
      const stored: string[] = [];
      for (const name of base.names) stored.push((await base.bank.section.get(name)).toString('latin1'));
      const places: [string, string[]][] = [
        ['saved info', evidence.savedInfos.map((i) => JSON.stringify(i))],
        ['a log line', evidence.lines],
        ['an error', evidence.errors],
        ['the bank', stored],
      ];
      for (const [place, texts] of places) {
        for (const [i, secret] of secrets.entries()) {
          if (texts.some((t) => t.includes(secret))) fail(PROMISES.secrets, `configured secret #${i + 1} appears in ${place}`);
        }
      }
      if (evidence.errors.length === 0) fail(PROMISES.secrets, 'the suite saw no error to check (it provokes some): run the whole suite');
    },
  });

  return {
    title: title ?? (typeof factory === 'function' ? 'plugin' : factory.name),
    async setup() {
      definition = typeof factory === 'function' ? await factory() : factory;
      home = mkdtempSync(join(tmpdir(), 'bwk-conformance-'));
      resource = await fixtures.source();
      const instance = await definition.create({
        home,
        providerId: 'conformance-provider',
        options: structuredClone(fixtures.options ?? {}),
        logger: evidence.logger,
      });
      if (instance.protection === undefined) throw new Error(`plugin ${definition.name} has no protection plugin to check`);
      plugin = instance.protection;
      protectables = instance.protectables ?? [];
      if (!plugin.supportedResourceTypes().includes(resource.type))
        throw new Error(`the fixture's resource ${resourceRef(resource)} is of a type ${definition.name} does not protect`);
      c = { plugin, resource, evidence, policy: fixtures.policy ?? { allowedTargetPaths: ['/'], forbiddenPaths: [] } };
      const bank = scratch();
      const section = new MeteredSection(bank.section);
      const p = await protect(section);
      if (p.run.failedHook !== null) throw new Error(`protect of ${resourceRef(resource)} failed: ${describeError(p.run.error)}`);
      base = { bank, written: section.written, names: await bank.section.list(), savedInfo: p.savedInfo };
    },
    cases,
    async teardown() {
      await Promise.all(banks.splice(0).map((b) => b.close()));
      if (home !== '') rmSync(home, { recursive: true, force: true });
      await fixtures.cleanup?.();
    },
  };
}

/**
 * Registers the suite with mocha (describe/it/before/after must be globals, as under `mocha`): one
 * test per promise, so a failure names the promise broken.
 */
export function describePluginConformance(factory: PluginFactory, fixtures: ConformanceFixtures, title?: string): void {
  const suite = conformanceSuite(factory, fixtures, title);
  describe(`plugin conformance: ${suite.title}`, function () {
    this.timeout(300_000);
    before(() => suite.setup());
    after(() => suite.teardown());
    for (const kase of suite.cases) {
      it(kase.promise, async function () {
        const outcome = await kase.run();
        if (outcome) this.skip();
      });
    }
  });
}

export interface CaseResult {
  promise: string;
  outcome: 'pass' | 'fail' | 'skip';
  message?: string;
}

/** Runs the whole suite without a test runner; resolves with every case's outcome (setup failures reject). */
export async function runPluginConformance(factory: PluginFactory, fixtures: ConformanceFixtures): Promise<CaseResult[]> {
  const suite = conformanceSuite(factory, fixtures);
  const results: CaseResult[] = [];
  try {
    await suite.setup();
    for (const kase of suite.cases) {
      try {
        const outcome = await kase.run();
        results.push(
          outcome ? { promise: kase.promise, outcome: 'skip', message: outcome.skip } : { promise: kase.promise, outcome: 'pass' },
        );
      } catch (err) {
        results.push({ promise: kase.promise, outcome: 'fail', message: (err as Error).message });
      }
    }
  } finally {
    await suite.teardown();
  }
  return results;
}
