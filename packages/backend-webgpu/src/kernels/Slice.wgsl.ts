import type { DType } from '@octet/core';
import type { Program } from '../program.js';
import { coordinates, movementProgram } from '../shaders/movement.wgsl.js';

export function sliceProgram(rank: number, dtype: DType): Program {
  const axes = [...Array(rank).keys()];
  return movementProgram(
    `Slice:rank${rank}`,
    dtype,
    axes.flatMap((d) => [
      { name: `shape${d}`, type: 'u32' as const },
      { name: `begin${d}`, type: 'u32' as const },
      { name: `stride${d}`, type: 'u32' as const },
    ]),
    `fn source(o: u32) -> u32 {
${coordinates(rank)}
  return 0u${axes.map((d) => ` + (u.begin${d} + c${d}) * u.stride${d}`).join('')};
}`,
  );
}
