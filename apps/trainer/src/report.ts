/**
 * `octet-train report RUN...`: one self-contained HTML file (inline SVG, no scripts or network):
 * train and validation loss against tokens overlaid across runs, tokens/s, an FP8-health heat map
 * per run (GEMM operands × time), memory by component, and the learning-rate sweep when present.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { checkArgs } from './options.js';
import { type MetricsRecord, readMetrics } from './run-dir.js';
import type { SweepResult } from './sweep.js';

export interface RunData {
  name: string;
  config: Record<string, unknown>;
  metrics: MetricsRecord[];
}

/** The runs under `paths`: a run directory itself, or every run directly inside a folder (compare, sweep). */
export function loadRuns(paths: readonly string[]): { runs: RunData[]; sweeps: SweepResult[] } {
  const runs: RunData[] = [];
  const sweeps: SweepResult[] = [];
  const isRun = (dir: string) => existsSync(join(dir, 'metrics.jsonl'));
  for (const path of paths) {
    if (!existsSync(path)) throw new Error(`report: got "${path}"; allowed: run directories (holding metrics.jsonl) or folders of runs`);
    if (existsSync(join(path, 'sweep.json'))) sweeps.push(JSON.parse(readFileSync(join(path, 'sweep.json'), 'utf8')));
    const dirs = isRun(path)
      ? [path]
      : readdirSync(path, { withFileTypes: true })
          .filter((e) => e.isDirectory() && isRun(join(path, e.name)))
          .map((e) => join(path, e.name));
    if (dirs.length === 0 && !existsSync(join(path, 'sweep.json'))) {
      throw new Error(`report: "${path}" holds no run; allowed: run directories (holding metrics.jsonl) or folders of runs`);
    }
    for (const dir of dirs) {
      const configPath = join(dir, 'config.json');
      const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
      runs.push({
        name: isRun(path) && paths.length === 1 ? basename(dir) : `${basename(dirname(dir))}/${basename(dir)}`,
        config,
        metrics: readMetrics(dir),
      });
    }
  }
  // Names only need to tell runs apart: drop a common folder.
  if (runs.length > 0 && new Set(runs.map((r) => r.name.split('/')[0])).size === 1)
    for (const r of runs) r.name = r.name.split('/').at(-1)!;
  return { runs, sweeps };
}

export async function writeReport(paths: readonly string[], out: string): Promise<string> {
  const { runs, sweeps } = loadRuns(paths);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, renderReport(runs, sweeps));
  return out;
}

// ---------- rendering ----------

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const W = 640;
const H = 300;
const M = { left: 64, right: 16, top: 28, bottom: 44 };

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : Number(v.toPrecision(3)).toString();

interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

function ticks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const step = 10 ** Math.floor(Math.log10((hi - lo) / count));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= count) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + nice * 1e-9; v += nice) out.push(Number(v.toPrecision(12)));
  return out;
}

function figure(id: string, title: string, body: string, note = ''): string {
  return `<figure class="chart" data-chart="${esc(id)}"><figcaption>${esc(title)}</figcaption>${body}${note ? `<p class="note">${esc(note)}</p>` : ''}</figure>`;
}

/** A line chart; `logX` plots x on a log₁₀ axis (learning rates). */
function lineChart(
  id: string,
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  { logX = false, markers = false } = {},
): string {
  const tx = (x: number) => (logX ? Math.log10(x) : x);
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(y));
  if (all.length === 0) return '';
  let [x0, x1] = [Math.min(...all.map(([x]) => tx(x))), Math.max(...all.map(([x]) => tx(x)))];
  let [y0, y1] = [Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => M.left + ((tx(x) - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const parts: string[] = [];
  const xTicks = logX ? ticks(Math.floor(x0), Math.ceil(x1), 6).filter(Number.isInteger) : ticks(x0, x1);
  for (const t of xTicks) {
    const x = logX ? 10 ** t : t;
    if (tx(x) < x0 - 1e-9 || tx(x) > x1 + 1e-9) continue;
    parts.push(
      `<line class="grid" x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${H - M.bottom}"/><text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`,
    );
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}"/><text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
    parts.push(
      `<path class="mark" d="${d}" stroke="${color}"${s.dashed ? ' stroke-dasharray="5 3"' : ''} fill="none" stroke-width="1.6"/>`,
    );
    if (markers || pts.length === 1)
      for (const [x, y] of pts) parts.push(`<circle class="mark" cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"/>`);
  });
  const legend = series
    .map((s, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.name)}${s.dashed ? ' (dashed)' : ''}</span>`)
    .join('');
  return figure(
    id,
    title,
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${parts.join('')}</svg><div class="legend">${legend}</div>`,
  );
}

/** Color of a fraction on a log scale: white at ≤1e-6, dark red at 1. */
function heat(fraction: number): string {
  if (!(fraction > 0)) return '#f4f4f4';
  const t = Math.min(1, Math.max(0, (Math.log10(fraction) + 6) / 6));
  const light = Math.round(92 - t * 62);
  return `hsl(${Math.round(50 - t * 50)} 90% ${light}%)`;
}

/** GEMM operands (rows) × health records (columns), colored by max(saturated, flushed). */
function healthHeatMap(run: RunData): string {
  const records = run.metrics.filter((r): r is Extract<MetricsRecord, { type: 'health' }> => r.type === 'health');
  if (records.length === 0) return '';
  const rows = [...new Set(records.flatMap((r) => r.layers.map((l) => `${l.layer} ${l.operand}`)))];
  const cell = { w: Math.max(4, Math.min(24, Math.floor((W - 180) / records.length))), h: 12 };
  const left = 180;
  const height = M.top + rows.length * cell.h + 30;
  const width = left + records.length * cell.w + 10;
  const parts: string[] = [];
  rows.forEach((row, i) => {
    parts.push(`<text x="${left - 6}" y="${M.top + i * cell.h + 10}" text-anchor="end" class="small">${esc(row)}</text>`);
  });
  records.forEach((record, j) => {
    const byRow = new Map(record.layers.map((l) => [`${l.layer} ${l.operand}`, l]));
    rows.forEach((row, i) => {
      const h = byRow.get(row);
      const value = h ? Math.max(h.saturated, h.flushed) : 0;
      const tip = h
        ? `${row} step ${record.step}: saturated ${fmt(h.saturated)}, flushed ${fmt(h.flushed)}, amax ${fmt(h.amax)}, scale ${fmt(h.scale)}`
        : row;
      parts.push(
        `<rect class="mark" x="${left + j * cell.w}" y="${M.top + i * cell.h}" width="${cell.w - 1}" height="${cell.h - 1}" fill="${heat(value)}"><title>${esc(tip)}</title></rect>`,
      );
    });
    if (j === 0 || j === records.length - 1) {
      parts.push(
        `<text x="${left + j * cell.w + cell.w / 2}" y="${M.top + rows.length * cell.h + 14}" text-anchor="middle" class="small">${record.step}</text>`,
      );
    }
  });
  parts.push(`<text x="${left + (records.length * cell.w) / 2}" y="${height - 4}" text-anchor="middle">step</text>`);
  return figure(
    `health-${run.name}`,
    `FP8 health, ${run.name}: max(saturated, flushed-to-zero) fraction per GEMM operand (x, w forward; dy backward)`,
    `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${parts.join('')}</svg>`,
    'Color: log scale from ≤1e-6 (light) to 1 (dark red). Hover a cell for amax, scale and both fractions.',
  );
}

const COMPONENTS = ['weights', 'gradients', 'optimizer', 'fp8ScalingState', 'activations'] as const;

function memoryChart(runs: RunData[]): string {
  const rows = runs
    .map((run) => ({ name: run.name, bytes: run.metrics.findLast((r) => r.type === 'memory')?.bytes }))
    .filter((r): r is { name: string; bytes: NonNullable<typeof r.bytes> } => r.bytes !== undefined);
  if (rows.length === 0) return '';
  const total = Math.max(...rows.map((r) => COMPONENTS.reduce((n, c) => n + r.bytes[c], 0)));
  const left = 160;
  const barH = 18;
  const height = M.top + rows.length * (barH + 8) + 30;
  const scale = (W - left - M.right) / total;
  const parts: string[] = [];
  rows.forEach((row, i) => {
    const y = M.top + i * (barH + 8);
    parts.push(`<text x="${left - 6}" y="${y + 13}" text-anchor="end" class="small">${esc(row.name)}</text>`);
    let x = left;
    COMPONENTS.forEach((c, k) => {
      const w = row.bytes[c] * scale;
      if (w > 0) {
        parts.push(
          `<rect class="mark" x="${x}" y="${y}" width="${w}" height="${barH}" fill="${COLORS[k]}"><title>${c}: ${fmt(row.bytes[c] / 2 ** 20)} MiB</title></rect>`,
        );
      }
      x += w;
    });
  });
  for (const t of ticks(0, total / 2 ** 20)) {
    const x = left + t * 2 ** 20 * scale;
    parts.push(`<text x="${x}" y="${height - 10}" text-anchor="middle" class="small">${fmt(t)}</text>`);
  }
  const legend = COMPONENTS.map((c, k) => `<span><i style="background:${COLORS[k]}"></i>${c}</span>`).join('');
  return figure(
    'memory',
    'Memory by component (MiB, the last memory record of each run)',
    `<svg viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">${parts.join('')}</svg><div class="legend">${legend}</div>`,
    'activations: tensors held for backward after one forward pass; gradients: f32, one per weight.',
  );
}

function sweepCharts(sweep: SweepResult, index: number): string {
  const series: Series[] = [];
  for (const p of sweep.parametrisations) {
    for (const width of sweep.widths) {
      const points = p.results
        .filter((r) => r.width === width)
        .map((r) => [r.lr, r.valLoss] as [number, number])
        .sort((a, b) => a[0] - b[0]);
      series.push({ name: `${p.label}, width ${width}`, points, dashed: p.recipe !== 'unitScaling' });
    }
  }
  const best = sweep.parametrisations
    .map((p) => `${p.label}: best lr ${sweep.widths.map((w) => `${w}→${p.bestLr[String(w)]}`).join(', ')}`)
    .join('; ');
  return lineChart(
    `sweep-${index}`,
    `Learning-rate sweep: final validation loss against peak lr per width. ${best}`,
    'peak learning rate',
    'val loss (nats/token)',
    series,
    {
      logX: true,
      markers: true,
    },
  );
}

export function renderReport(runs: RunData[], sweeps: SweepResult[] = []): string {
  const steps = (run: RunData) => run.metrics.filter((r): r is Extract<MetricsRecord, { type: 'step' }> => r.type === 'step');
  const evals = (run: RunData) => run.metrics.filter((r): r is Extract<MetricsRecord, { type: 'eval' }> => r.type === 'eval');
  const charts = [
    lineChart(
      'loss-train',
      'Training loss against tokens',
      'tokens',
      'train loss (nats/token)',
      runs.map((run) => ({ name: run.name, points: steps(run).map((r) => [r.tokens, r.loss] as [number, number]) })),
    ),
    lineChart(
      'loss-val',
      'Validation loss against tokens',
      'tokens',
      'val loss (nats/token)',
      runs.map((run) => ({ name: run.name, points: evals(run).map((r) => [r.tokens, r.valLoss] as [number, number]) })),
      { markers: true },
    ),
    lineChart(
      'tokens-per-second',
      'Throughput (tokens/s, running mean since the process started)',
      'step',
      'tokens/s',
      runs.map((run) => ({ name: run.name, points: steps(run).map((r) => [r.step, r.tokensPerSecond] as [number, number]) })),
    ),
    ...runs.map(healthHeatMap),
    memoryChart(runs),
    ...sweeps.map(sweepCharts),
  ].filter((c) => c !== '');
  const warnings = runs.flatMap((run) =>
    run.metrics
      .filter((r) => r.type === 'warning')
      .map((r) => `<li><b>${esc(run.name)}</b> ${esc((r as { message: string }).message)}</li>`),
  );
  const configRows = runs
    .map((run) => {
      const c = run.config;
      return `<tr><td>${esc(run.name)}</td><td>${esc(c.model ?? '')}${c.width ? ` w${esc(c.width)}` : ''}</td><td>${esc(c.recipe ?? '')}</td><td>${esc(c.optimizer ?? '')}</td><td>${esc(c.lr ?? '')}</td><td>${esc(c.steps ?? '')}</td><td>${esc(c.batch ?? '')}</td><td>${esc(evals(run).at(-1)?.valLoss.toFixed(4) ?? '')}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>octet-train report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
figure{margin:24px 0}figcaption{font-weight:600;margin-bottom:6px}
svg text{font-size:11px;fill:#333}svg .small{font-size:10px}
svg .grid{stroke:#e5e5e5;stroke-width:1}
.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.note{color:#666;font-size:12px;margin:4px 0}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
</style></head>
<body data-chart-count="${charts.length}">
<h1>octet-train report</h1>
<table><tr><th>run</th><th>model</th><th>recipe</th><th>optimizer</th><th>peak lr</th><th>steps</th><th>batch</th><th>final val loss</th></tr>${configRows}</table>
${charts.join('\n')}
${warnings.length ? `<h2>FP8 health warnings</h2><ul>${warnings.slice(0, 200).join('')}</ul>${warnings.length > 200 ? `<p>…and ${warnings.length - 200} more (metrics.jsonl)</p>` : ''}` : ''}
</body></html>
`;
}

const reportArgs = {
  runs: { type: 'positional', description: 'run directories or folders of runs', required: true },
  out: { type: 'string', description: 'the HTML file (default: report.html in the first RUN)' },
} as const;

export const reportCommand = defineCommand({
  meta: {
    name: 'report',
    description: 'Write one self-contained HTML report for runs (run directories, or folders of runs such as compare/sweep outputs).',
  },
  args: reportArgs,
  async run({ args, rawArgs }) {
    checkArgs(rawArgs, reportArgs, 'octet-train report');
    const paths = (args._ as string[]).map((p) => resolve(p));
    const out = resolve(args.out ? String(args.out) : join(paths[0]!, 'report.html'));
    await writeReport(paths, out);
    process.stdout.write(`${out}\n`);
  },
});
