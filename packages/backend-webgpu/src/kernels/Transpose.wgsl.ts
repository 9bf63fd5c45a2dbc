import type { DType } from '@octet/core';
import type { Program } from '../program.js';
import { coordinates, movementProgram } from '../shaders/movement.wgsl.js';

/** Output coordinate d steps the input by `step{d}` (the input stride of axis perm[d]). */
export function transposeProgram(rank: number, dtype: DType): Program {
  const axes = [...Array(rank).keys()];
  return movementProgram(
    `Transpose:rank${rank}`,
    dtype,
    axes.flatMap((d) => [
      { name: `shape${d}`, type: 'u32' as const },
      { name: `step${d}`, type: 'u32' as const },
    ]),
    `fn source(o: u32) -> u32 {
${coordinates(rank)}
  return 0u${axes.map((d) => ` + c${d} * u.step${d}`).join('')};
}`,
  );
}
