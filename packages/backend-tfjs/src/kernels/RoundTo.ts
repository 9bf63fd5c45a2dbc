import type { KernelConfig, RoundToAttrs, RoundToInputs } from '@octet/core';
import type { TfjsBackend } from '../base.js';
import { roundToFloat16 } from '../fp8-emulation.js';

export const roundToConfig: KernelConfig = {
  kernelName: 'RoundTo',
  kernelFunc: ({ inputs: { x }, attrs: { format }, backend }: { inputs: RoundToInputs; attrs: RoundToAttrs; backend: TfjsBackend }) =>
    backend.run('float32', () => roundToFloat16(backend, backend.handle(x), format)),
};
