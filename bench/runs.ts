/**
 * `npm run bench -- --runs N`: the whole benchmark N times in a row, each run a child process with
 * the same options (same seed, so the same corpus, regenerated each time), then a summary of their
 * medians. Ratios are paired within a run (Bulwark and its peer timed minutes apart on the same
 * machine state) and the median of those is reported: one noisy run moves a single figure, not it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEPS } from './report.js';
import type { ToolResult } from './report.js';
import { median } from './stats.js';

const MiB = 1024 * 1024;

/** Runs the benchmark `runs` times; returns the Markdown: the summary, then each run's report. */
export function runMany(script: string, args: string[], runs: number, log: (msg: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-runs-'));
  const reports: string[] = [];
  const results: ToolResult[][] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      log(`run ${i} of ${runs}`);
      const md = join(dir, `run-${i}.md`);
      const json = join(dir, `run-${i}.json`);
      const child = spawnSync(process.execPath, [script, ...args, '--results', md, '--json', json], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: process.env,
      });
      if (child.status !== 0) throw new Error(`run ${i} exited with ${child.status ?? child.signal}`);
      reports.push(
        readFileSync(md, 'utf8')
          .replace(/^<!-- results:(begin|end) -->$/gm, '')
          .trim(),
      );
      results.push(JSON.parse(readFileSync(json, 'utf8')) as ToolResult[]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const runsMd = reports.map((r, i) => `### Run ${i + 1} of ${runs}\n\n${r.replace(/^## /gm, '#### ')}`).join('\n\n');
  return `${summarise(results)}\n\n${runsMd}`;
}

function wall(r: ToolResult | undefined, step: string): number | undefined {
  const s = r?.steps.find((x) => x.step === step);
  return s?.status === 'ok' ? s.wallMs : undefined;
}

/** Median wall time per tool and step, and Bulwark's paired ratios against each peer. */
export function summarise(runs: ToolResult[][]): string {
  const keys = [...new Set(runs.flatMap((r) => r.map((t) => t.key)))];
  const lines = [
    `## ${runs.length} runs of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: medians`,
    '',
    '| tool | step | wall s, median (runs) | peak RSS MiB, max | stored MB, median |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const key of keys) {
    for (const step of STEPS) {
      const steps = runs.map((r) => r.find((t) => t.key === key)?.steps.find((s) => s.step === step)).filter((s) => s?.status === 'ok');
      if (steps.length === 0) continue;
      const walls = steps.map((s) => s!.wallMs! / 1000);
      lines.push(
        `| ${key} | ${step} | ${median(walls).toFixed(2)} (${walls.map((w) => w.toFixed(2)).join(', ')}) | ` +
          `${(Math.max(...steps.map((s) => s!.peakRssBytes ?? 0)) / MiB).toFixed(0)} | ` +
          `${(median(steps.map((s) => s!.storedBytes ?? 0)) / 1e6).toFixed(1)} |`,
      );
    }
  }
  const peers = keys.filter((k) => k !== 'bulwark');
  if (keys.includes('bulwark') && peers.length > 0) {
    lines.push(
      '',
      '| peer | step | throughput, Bulwark ÷ peer, per run | median | stored, Bulwark ÷ peer (median) |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const peer of peers) {
      for (const step of STEPS) {
        const ratios: number[] = [];
        const stored: number[] = [];
        for (const r of runs) {
          const b = wall(
            r.find((t) => t.key === 'bulwark'),
            step,
          );
          const p = wall(
            r.find((t) => t.key === peer),
            step,
          );
          if (b !== undefined && p !== undefined) ratios.push(p / b);
          const bs = r.find((t) => t.key === 'bulwark')?.steps.find((s) => s.step === step)?.storedBytes;
          const ps = r.find((t) => t.key === peer)?.steps.find((s) => s.step === step)?.storedBytes;
          if (bs && ps) stored.push(bs / ps);
        }
        if (ratios.length === 0) continue;
        lines.push(
          `| ${peer} | ${step} | ${ratios.map((x) => `${x.toFixed(2)}×`).join(', ')} | **${median(ratios).toFixed(2)}×** | ` +
            `${stored.length ? `${median(stored).toFixed(2)}×` : ''} |`,
        );
      }
    }
  }
  return lines.join('\n');
}
