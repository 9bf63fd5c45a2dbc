/**
 * A WGSL program as data, in the manner of tfjs-backend-webgpu's `WebGPUProgram`: a kernel's
 * `*.wgsl.ts` builder returns the declared bindings, the uniform fields and the body of `main`; this
 * module assembles the full shader from them. Shapes travel as uniforms, so the pipeline cache key
 * (kernel, rank, dtype, attributes) never contains a dimension.
 */

export type WgslScalar = 'f32' | 'i32' | 'u32';

export interface Binding {
  readonly name: string;
  readonly type: WgslScalar;
}

export interface Program {
  /** Pipeline cache key: the kernel name plus rank, dtype and attributes; never dims. */
  readonly key: string;
  /** Read-only storage arrays, bound in order from 0. uint8 tensors are `u32` words (four codes each). */
  readonly inputs: readonly Binding[];
  /** The read-write output array, bound after the inputs. */
  readonly output: Binding;
  /** Fields of the uniform struct `u` (4-byte scalars), bound last. */
  readonly uniforms: readonly Binding[];
  /** Threads per workgroup: [x] or [x, y]. */
  readonly workgroupSize: readonly [number] | readonly [number, number];
  /** Module-scope WGSL: helper functions, `var<workgroup>` arrays. */
  readonly helpers?: string;
  /**
   * The body of `main`. In scope: `gid`, `lid`, `wid` and `nwg` (global, local and workgroup ids and
   * the workgroup count), the bindings by name, and `u`.
   */
  readonly main: string;
}

/** The full WGSL module of a program. */
export function shaderSource(program: Program): string {
  const uniforms = program.uniforms.length > 0 ? program.uniforms : [{ name: 'unused', type: 'u32' as const }];
  const n = program.inputs.length;
  const lines = [
    `struct Uniforms {\n${uniforms.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n}`,
    ...program.inputs.map((b, i) => `@group(0) @binding(${i}) var<storage, read> ${b.name}: array<${b.type}>;`),
    `@group(0) @binding(${n}) var<storage, read_write> ${program.output.name}: array<${program.output.type}>;`,
    `@group(0) @binding(${n + 1}) var<uniform> u: Uniforms;`,
    program.helpers ?? '',
    `@compute @workgroup_size(${program.workgroupSize.join(', ')})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,',
    '        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    program.main,
    '}',
  ];
  return lines.join('\n');
}

/** Packs uniform values (in the program's field order) into the bytes of the uniform struct. */
export function packUniforms(fields: readonly Binding[], values: readonly number[]): ArrayBuffer {
  if (values.length !== fields.length) {
    throw new Error(`uniforms: got ${values.length} values; allowed: ${fields.length} (${fields.map((f) => f.name).join(', ')})`);
  }
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach((f, i) => {
    const v = values[i]!;
    if (f.type === 'f32') view.setFloat32(i * 4, v, true);
    else if (f.type === 'i32') view.setInt32(i * 4, v, true);
    else view.setUint32(i * 4, v, true);
  });
  return bytes;
}

/** Workgroups most APIs allow along one dimension. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Workgroups for `count` independent units spread over x (and y past 65535). */
export function workgroupGrid(count: number): [number, number, number] {
  const x = Math.min(count, MAX_WORKGROUPS_PER_DIMENSION);
  return [x, Math.ceil(count / Math.max(x, 1)), 1];
}

/** 1-D elementwise dispatch: `workgroupSize` threads per group, one element per thread. */
export function elementwiseGrid(count: number, workgroupSize = ELEMENTWISE_WORKGROUP): [number, number, number] {
  return workgroupGrid(Math.ceil(count / workgroupSize));
}

export const ELEMENTWISE_WORKGROUP = 256;

/** WGSL: the flat index of this thread in a grid from `elementwiseGrid`. */
export const FLAT_INDEX = `let i = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WORKGROUP}u;`;

/**
 * WGSL: `group`, the index of this workgroup in a grid from `workgroupGrid` (the last grid row may
 * have spare groups). Kernels with barriers keep every thread running to the end (an early return
 * before a barrier hangs SwiftShader) and skip only their writes when `group` is past the end.
 */
export const GROUP_INDEX = 'let group = wid.x + wid.y * nwg.x;';
