// @octet/conformance depends on this package (the CPU backend is its reference), so the suite is
// imported from its source by path rather than as a workspace dependency, which would be circular.
import { runConformance } from '../../conformance/src/index.js';
import { createCpuBackend } from '../src/index.js';

// The reference against itself, with two threads: proves the suite runs, and that the worker-thread
// matmuls agree with the single-threaded reference. Nothing is skipped.
runConformance('cpu', () => createCpuBackend({ threads: 2 }));
