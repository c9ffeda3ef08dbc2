/**
 * The benchmark's report: machine facts and the Markdown tables printed on stdout and written
 * between the results markers of bench/results.md (the method text above them is kept as is).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import type { CorpusSpec } from './corpus.js';

export const STEPS = ['backup 1', 'backup 2 (no change)', 'backup 3 (1% change)', 'restore', 'check'] as const;
export type StepName = (typeof STEPS)[number];

export interface StepResult {
  step: StepName;
  status: 'ok' | 'failed' | 'n/a' | 'skipped';
  /** The corpus's logical size at this step: MB/s is this divided by the wall time. */
  logicalBytes: number;
  wallMs?: number;
  peakRssBytes?: number;
  storedBytes?: number;
  note?: string;
}

export interface ToolResult {
  key: string;
  name: string;
  version: string;
  settings: string;
  steps: StepResult[];
  /** The restored tree compared with the corpus, or why there was nothing to compare. */
  restoreCheck: string;
  /** Why the tool did not run at all. */
  skipped?: string;
}

export interface RunReport {
  date: Date;
  command: string;
  size: number;
  spec: CorpusSpec;
  corpus: { files: number; bytes: number; mutatedBytes: number; generateMs: number; mutateMs: number };
  machine: Array<[string, string]>;
  tools: ToolResult[];
  notes: string[];
  /** Instead of "size N" and the 1 GB corpus's description (the --files tree). */
  title?: string;
  corpusText?: string;
}

const MB = 1e6;
const MiB = 1024 * 1024;

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** nproc, CPU, RAM, kernel, Node, and the disk under the work dir. */
export function machineFacts(workDir: string): Array<[string, string]> {
  const [source = '?', fstype = '?'] = sh('findmnt', '-no', 'SOURCE,FSTYPE', '-T', workDir).split(/\s+/);
  const disk = source.startsWith('/dev/') ? sh('lsblk', '-dno', 'SIZE,ROTA,MODEL', source.replace(/\[.*$/, '')).split(/\s+/) : [];
  const diskText =
    disk.length >= 2
      ? `${disk[0]}, ${disk[1] === '1' ? 'rotational' : 'non-rotational'}${disk[2] ? `, ${disk.slice(2).join(' ')}` : ''}`
      : 'unknown';
  return [
    ['nproc', String(availableParallelism())],
    ['CPU', cpus()[0]?.model ?? 'unknown'],
    ['RAM', `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ['kernel', `Linux ${release()}`],
    ['disk (work dir)', `${source} (${fstype}; ${diskText})`],
    ['node', process.version],
  ];
}

const fmt = {
  s: (ms?: number): string => (ms === undefined ? '' : (ms / 1000).toFixed(2)),
  mbs: (r: StepResult): string => (r.wallMs ? (r.logicalBytes / MB / (r.wallMs / 1000)).toFixed(1) : ''),
  rss: (b?: number): string => (b === undefined ? '' : (b / MiB).toFixed(0)),
  stored: (b?: number): string => (b === undefined ? '' : (b / MB).toFixed(1)),
  ratio: (x: number): string => `${x.toFixed(2)}×`,
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );
}

/** Bulwark ÷ peer for every step both completed: throughput (>1: Bulwark faster) and stored bytes (<1: Bulwark smaller). */
function ratioRows(tools: ToolResult[]): string[][] | null {
  const rows: string[][] = [];
  for (const peer of tools) {
    if (peer.key.startsWith('bulwark') || peer.skipped) continue;
    // A peer on S3 is compared with Bulwark on the same S3 server, the others with Bulwark's fs bank.
    const bulwark = tools.find((t) => t.key === (peer.key.endsWith('-s3') ? 'bulwark-s3' : 'bulwark'));
    if (!bulwark || bulwark.skipped) continue;
    for (const step of STEPS) {
      const b = bulwark.steps.find((s) => s.step === step);
      const p = peer.steps.find((s) => s.step === step);
      if (!b && !p) continue; // a step this corpus does not run (--files)
      if (b?.status !== 'ok' || p?.status !== 'ok' || !b.wallMs || !p.wallMs) {
        rows.push([peer.name, step, '–', '–']);
        continue;
      }
      const speed = b.logicalBytes / b.wallMs / (p.logicalBytes / p.wallMs);
      const stored = b.storedBytes && p.storedBytes ? fmt.ratio(b.storedBytes / p.storedBytes) : '–';
      rows.push([peer.name, step, fmt.ratio(speed), stored]);
    }
  }
  return rows.length > 0 ? rows : null;
}

export function renderReport(r: RunReport): string {
  const spec = r.spec;
  const out: string[] = [];
  out.push(`## Run of ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC (${r.title ?? `size ${r.size}`})`, '');
  out.push(`Command: \`${r.command}\``, '');
  out.push(
    table(['machine', 'value'], [...r.machine, ...r.tools.filter((t) => t.version).map((t): [string, string] => [t.name, t.version])]),
    '',
  );
  out.push(
    r.corpusText ??
      `Corpus (seed \`${spec.seed}\`): ${r.corpus.files} files, ${(r.corpus.bytes / MB).toFixed(1)} MB before the change, ` +
        `${(r.corpus.mutatedBytes / MB).toFixed(1)} MB after: ${spec.randomFiles} random files of ` +
        `${(spec.randomFileBytes / MiB).toFixed(2)} MiB ` +
        `+ 1 duplicate, a ${(spec.sqlBytes / MiB).toFixed(2)} MiB SQL dump, ${spec.smallFiles} small text files + ` +
        `${spec.smallDuplicates} duplicates. ` +
        `1% change: ${spec.mutatedSmallFiles} small files rewritten, ${(spec.mutatedBigBytes / 1024).toFixed(0)} KiB overwritten in one ` +
        `large file, ` +
        `${spec.insertedRows} rows inserted in the SQL dump. Generated in ${fmt.s(r.corpus.generateMs)} s, changed in ` +
        `${fmt.s(r.corpus.mutateMs)} s.`,
    '',
  );

  const rows: string[][] = [];
  for (const t of r.tools) {
    if (t.skipped) {
      rows.push([t.name, '–', '', '', '', '', `skipped: ${t.skipped}`]);
      continue;
    }
    for (const s of t.steps) {
      const note = s.status === 'ok' ? (s.note ?? '') : `${s.status}${s.note ? `: ${s.note}` : ''}`;
      rows.push([t.name, s.step, fmt.s(s.wallMs), fmt.mbs(s), fmt.rss(s.peakRssBytes), fmt.stored(s.storedBytes), note]);
    }
  }
  out.push(table(['tool', 'step', 'wall s', 'MB/s', 'peak RSS MiB', 'stored MB', 'notes'], rows), '');

  out.push('### Restored tree vs. corpus', '');
  out.push(
    table(
      ['tool', 'latest snapshot restored'],
      r.tools.filter((t) => !t.skipped).map((t) => [t.name, t.restoreCheck]),
    ),
    '',
  );

  out.push('### Bulwark relative to each peer', '');
  const ratios = ratioRows(r.tools);
  const bulwark = r.tools.find((t) => t.key === 'bulwark');
  out.push(
    ratios
      ? table(['peer', 'step', 'throughput, Bulwark ÷ peer (>1: faster)', 'stored bytes, Bulwark ÷ peer (<1: smaller)'], ratios)
      : `Bulwark did not run${bulwark?.skipped ? ` (${bulwark.skipped})` : ''}.`,
    '',
  );

  out.push('### Tool settings', '');
  for (const t of r.tools) out.push(`- **${t.name}**: ${t.settings}`);
  out.push('');
  if (r.notes.length) out.push('### Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

export const BEGIN = '<!-- results:begin -->';
export const END = '<!-- results:end -->';

/** Replaces what is between the results markers of `file` (appends them when absent). */
export function writeResults(file: string, markdown: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const block = `${BEGIN}\n${markdown.trimEnd()}\n${END}`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  writeFileSync(file, a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`);
}
