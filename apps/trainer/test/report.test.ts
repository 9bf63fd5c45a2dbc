import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainArgs, type SweepResult, train } from '../src/index.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const dir = mkdtempSync(join(tmpdir(), 'octet-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sweepFixture: SweepResult = {
  widths: [64, 128],
  lrFactors: [0.5, 1],
  flags: [],
  parametrisations: [
    {
      recipe: 'unitScaling',
      label: 'μnit Scaling',
      results: [
        { width: 64, lr: 0.25, valLoss: 2.5 },
        { width: 64, lr: 0.5, valLoss: 2.4 },
        { width: 128, lr: 0.25, valLoss: 2.3 },
        { width: 128, lr: 0.5, valLoss: 2.2 },
      ],
      bestLr: { '64': 0.5, '128': 0.5 },
      bestLrSpreadSteps: 0,
    },
  ],
};

describe.skipIf(!available && process.env.CI !== 'true')('octet-train report', () => {
  let html: string;
  beforeAll(async () => {
    // Two tiny runs: FP8 (with health records) and f32 (none), into one folder.
    for (const recipe of ['unitScaling', 'f32']) {
      const options = parseTrainArgs({ preset: 'tiny-smoke', steps: '6', 'eval-every': '3', 'health-every': '2', recipe, threads: '1' });
      await train({ ...options, outDir: join(dir, 'runs', recipe) });
    }
    mkdirSync(join(dir, 'sweep'));
    writeFileSync(join(dir, 'sweep', 'sweep.json'), JSON.stringify(sweepFixture));
    const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const out = join(dir, 'report.html');
    await promisify(execFile)(process.execPath, [cli, 'report', join(dir, 'runs'), join(dir, 'sweep'), '--out', out]);
    html = readFileSync(out, 'utf8');
  });

  it('is one self-contained file: no scripts, stylesheets or images from elsewhere', () => {
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it('draws every chart in headless Chromium', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${join(dir, 'report.html')}`);
      expect(requests).toHaveLength(1);
      const charts = await page.$$eval('figure.chart', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg')!;
          const box = svg.getBoundingClientRect();
          // A mark drew if it has an on-screen extent and a visible paint.
          type Mark = { getBBox(): { width: number; height: number } };
          const { getComputedStyle } = globalThis as unknown as { getComputedStyle(e: unknown): { stroke: string; fill: string } };
          const drawn = (Array.from(svg.querySelectorAll('.mark')) as unknown as Mark[]).filter((m) => {
            const b = m.getBBox();
            const style = getComputedStyle(m);
            return (b.width > 0 || b.height > 0) && (style.stroke !== 'none' || style.fill !== 'none');
          }).length;
          return { id: f.dataset.chart, width: box.width, height: box.height, drawn };
        }),
      );
      const count = await page.$eval('body', (b) => Number(b.dataset.chartCount));
      expect(charts.map((c) => c.id)).toEqual(['loss-train', 'loss-val', 'tokens-per-second', 'health-unitScaling', 'memory', 'sweep-0']);
      expect(count).toBe(charts.length);
      for (const chart of charts) {
        expect(chart.width, chart.id).toBeGreaterThan(100);
        expect(chart.height, chart.id).toBeGreaterThan(50);
        expect(chart.drawn, chart.id).toBeGreaterThan(0);
      }
      // One line per run on the loss chart; the heat map has a cell per operand and health record.
      expect(charts[0]!.drawn).toBe(2);
      const rows = await page.$$eval('[data-chart="health-unitScaling"] text.small', (t) => t.map((e) => e.textContent));
      expect(rows).toContain('blocks.1.mlp.down dy');
      // 3 health records (steps 2, 4, 6) × 2 blocks × 6 FP8 Linears (q, k, v, out, up, down) × 3 operands.
      expect(charts[3]!.drawn).toBe(3 * 2 * 6 * 3);
    } finally {
      await browser.close();
    }
  });
});
