import { createCpuBackend } from '@octet/backend-cpu';
import { ENGINE, op, setBackend, tidy, valueAndGrads } from '@octet/core';
import { Gpt, gptConfig } from '@octet/models';
import { AdamW } from '@octet/optim';
setBackend(createCpuBackend());
const model = new Gpt(gptConfig('small', { recipe: 'unitScaling', ...(process.env.OVER ? JSON.parse(process.env.OVER) : {}) }));
const opt = new AdamW(model.parameters(), { lr: 1e-3 });
const times = new Map<string, [number, number]>();
const orig = (ENGINE as any).runKernel.bind(ENGINE);
let on = false;
(ENGINE as any).runKernel = (name: string, i: any, a: any) => { if (!on) return orig(name, i, a); const t = performance.now(); const r = orig(name, i, a); const d = performance.now() - t; const key = name + (a?.op ? ':' + a.op : ''); const e = times.get(key) ?? [0, 0]; e[0] += d; e[1]++; times.set(key, e); return r; };
const ids = op.tensor(new Int32Array(8 * 128).map((_, i) => (i * 7) % 256), [8, 128], 'int32');
let total = 0;
for (let s = 0; s < 8; s++) {
  on = s >= 3;
  const t = performance.now();
  tidy(() => { const { value, grads } = valueAndGrads(() => model.loss(ids, ids), opt.params()); opt.applyGradients(grads); value.dataSync(); });
  if (on) total += performance.now() - t;
}
const rows = [...times.entries()].sort((a, b) => b[1][0] - a[1][0]);
console.log('step ms', (total / 5).toFixed(1), 'kernel ms', (rows.reduce((p, r) => p + r[1][0], 0) / 5).toFixed(1));
for (const [k, [ms, n]] of rows.slice(0, 22)) console.log(k.padEnd(28), (ms / 5).toFixed(1).padStart(7), String(n / 5).padStart(6));
