// `pnpm build` (and `pnpm test`, `pnpm train`, which build first) leaves octet-serve's bin runnable.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('the octet-serve bin', () => {
  it('is an executable file that runs', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    const bin = join(import.meta.dirname, '..', pkg.bin['octet-serve']);
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    const { stdout } = await promisify(execFile)(bin, ['--help']);
    expect(stdout).toContain('--backend');
    expect(stdout).toContain('auto');
  });

  it('rejects a flag it does not take, naming it, before loading anything', async () => {
    const bin = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const error = await promisify(execFile)(bin, ['--model', 'nowhere', '--bakend', 'cpu']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain('octet-serve: unknown flag --bakend; allowed: --model, --backend,');
  });
});
