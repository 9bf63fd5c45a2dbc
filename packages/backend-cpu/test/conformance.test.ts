// @octet/conformance depends on this package (the CPU backend is its reference), so the suite is
// imported from its source by path rather than as a workspace dependency, which would be circular.
import { runConformance } from '../../conformance/src/index.js';
import { createCpuBackend } from '../src/index.js';

// The fast (WASM SIMD) kernels on two threads against the single-threaded reference, every matmul
// on the WASM kernels however small (the suite's shapes are). Nothing is skipped.
runConformance('cpu', () => createCpuBackend({ threads: 2, minWasmWork: 0 }));

// The reference kernels with their worker-thread matmuls against the single-threaded reference.
runConformance('cpu reference, 2 threads', () => createCpuBackend({ threads: 2, kernels: 'reference' }));
