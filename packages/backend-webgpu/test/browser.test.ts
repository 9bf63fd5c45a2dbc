/**
 * The backend in a real browser: a page served on 127.0.0.1 runs a few kernels through
 * navigator.gpu in headless Chromium (SwiftShader), and the results are compared with the CPU
 * reference here. The page loads the TypeScript sources, transpiled as they are served.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '@octet/backend-cpu';
import { expectClose, REDUCTION } from '@octet/conformance';
import { fp8, Random, setBackend, type Tensor, tidy } from '@octet/core';
import { type Browser, chromium } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
/** Flags that give headless Chromium a WebGPU adapter on SwiftShader. */
const CHROMIUM_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'];
const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Source folders the page may load, by URL prefix. */
const SERVED = ['/core/src/', '/backend-webgpu/src/'];

const PAGE = `<!doctype html>
<title>octet webgpu</title>
<script type="importmap">{ "imports": { "@octet/core": "/core/src/index.js" } }</script>`;

/** Serves the page and each requested `.js` module transpiled from its `.ts` source. */
function startServer(): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const source = join(PACKAGES, path.replace(/\.js$/, '.ts'));
    if (!SERVED.some((prefix) => path.startsWith(prefix)) || !source.startsWith(PACKAGES) || !existsSync(source)) {
      response.writeHead(404).end();
      return;
    }
    const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(outputText);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

/** Defines `window.runCases(cases)`: each case computed on a WebGPU backend from navigator.gpu. */
const PAGE_SCRIPT = (computeSource: string) => `
import * as core from '@octet/core';
import { createWebGpuBackend } from '/backend-webgpu/src/index.js';
const compute = ${computeSource};
window.runCases = async (cases) => {
  const backend = await createWebGpuBackend();
  core.setBackend(backend);
  const results = {};
  for (const [name, c] of Object.entries(cases)) {
    const t = core.tidy(() => compute(core, c));
    results[name] = [...(await t.data())];
    t.dispose();
  }
  return { results, adapter: backend.adapterDescription };
};`;

interface PageApi {
  runCases(cases: Record<string, Case>): Promise<{ results: Record<string, number[]>; adapter: string }>;
}

interface Case {
  kernel: 'Quantize' | 'MatMul' | 'ScaledMatMul' | 'Softmax';
  inputs: { values: number[]; shape: number[]; dtype: 'float32' | 'uint8' }[];
}

function randomValues(length: number, seed: number, std = 1): number[] {
  const random = new Random(seed);
  return Array.from({ length }, () => std * random.normal());
}

/** Every finite e4m3fn value, the midpoints between neighbours (ties), ±0, ±inf, NaN and overflow past max. */
function quantizeInputs(): number[] {
  const positives = [
    ...fp8.decode(
      new Uint8Array(127).map((_, i) => i),
      'e4m3fn',
    ),
  ];
  const mids = positives.slice(1).map((v, i) => (v + positives[i]!) / 2);
  const values = [...positives, ...mids, 0, Infinity, Number.NaN, 464, 480, 1e6];
  // One NaN only: the page receives values as JavaScript numbers, which do not keep a NaN's sign.
  return [...values, ...values.filter((v) => !Number.isNaN(v)).map((v) => -v)];
}

const a = fp8.encode(Float32Array.from(randomValues(35, 3, 16)), 'e4m3fn');
const b = fp8.encode(Float32Array.from(randomValues(21, 4, 0.25)), 'e5m2');
const CASES: Record<string, Case> = {
  'Quantize e4m3fn (saturating) is bit-exact on edge values': {
    kernel: 'Quantize',
    inputs: [{ values: quantizeInputs(), shape: [quantizeInputs().length], dtype: 'float32' }],
  },
  'MatMul 33×17×65': {
    kernel: 'MatMul',
    inputs: [
      { values: randomValues(33 * 17, 1), shape: [33, 17], dtype: 'float32' },
      { values: randomValues(17 * 65, 2), shape: [17, 65], dtype: 'float32' },
    ],
  },
  'ScaledMatMul e4m3fn × e5m2, 5×7×3': {
    kernel: 'ScaledMatMul',
    inputs: [
      { values: [...a], shape: [5, 7], dtype: 'uint8' },
      { values: [...b], shape: [7, 3], dtype: 'uint8' },
    ],
  },
  'Softmax causal, Tq < Tk': { kernel: 'Softmax', inputs: [{ values: randomValues(42, 5, 4), shape: [2, 3, 7], dtype: 'float32' }] },
};

/** The same computation for every case, on whichever backend is active (in the page or here). */
function compute(core: typeof import('@octet/core'), { kernel, inputs }: Case): Tensor {
  const [x, y] = inputs.map(({ values, shape, dtype }) =>
    core.op.tensor(dtype === 'uint8' ? Uint8Array.from(values) : Float32Array.from(values), shape),
  );
  if (kernel === 'Quantize') return core.op.quantizeTensor(x!, core.op.scalar(1), 'e4m3fn');
  if (kernel === 'MatMul') return core.op.matMul(x!, y!);
  if (kernel === 'ScaledMatMul') {
    return core.op.scaledMatMul(x!, y!, core.op.scalar(16), core.op.scalar(0.25), { aFormat: 'e4m3fn', bFormat: 'e5m2', alpha: 0.5 });
  }
  return core.op.softmax(x!, { causal: true });
}

const available = existsSync(CHROMIUM);
const help = `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`;

describe.skipIf(!available && process.env.CI !== 'true')(`webgpu in headless Chromium${available ? '' : ` [skipped: ${help}]`}`, () => {
  let server: Server;
  let browser: Browser;
  let results: Record<string, number[]>;
  let adapter: string;

  beforeAll(async () => {
    if (!available) throw new Error(help);
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // Kept as text: the test runner rewrites `import()` in functions it compiles.
    await page.addScriptTag({ type: 'module', content: PAGE_SCRIPT(compute.toString()) });
    await page.waitForFunction(() => 'runCases' in globalThis);
    ({ results, adapter } = await page.evaluate((cases) => (globalThis as unknown as PageApi).runCases(cases), CASES));
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('runs on a WebGPU adapter from navigator.gpu', () => {
    expect(adapter).toMatch(/\S/);
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      setBackend(createCpuBackend({ threads: 1 }));
      const core = await import('@octet/core');
      const t = tidy(() => compute(core, c));
      const expected = await t.data();
      t.dispose();
      const actual = c.kernel === 'Quantize' ? Uint8Array.from(results[name]!) : Float32Array.from(results[name]!);
      expectClose(actual, expected, c.kernel === 'Quantize' ? 'exact' : REDUCTION);
      if (c.kernel === 'Quantize') expect(expected).toEqual(fp8.encode(Float32Array.from(c.inputs[0]!.values), 'e4m3fn'));
    });
  }
});
