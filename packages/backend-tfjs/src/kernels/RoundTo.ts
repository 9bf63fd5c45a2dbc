import { RoundTo } from '@octet/core';
import { defineTfjsKernel } from '../base.js';
import { roundToFloat16 } from '../fp8-emulation.js';

export const roundToConfig = defineTfjsKernel(RoundTo, ({ inputs: { x }, attrs: { format }, backend }) =>
  backend.run('float32', () => roundToFloat16(backend, backend.handle(x), format)),
);
