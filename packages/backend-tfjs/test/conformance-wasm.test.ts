import { runConformance } from '@octet/conformance';
import { createTfjsBackend } from '../src/index.js';

// The whole suite, nothing skipped. Each test file runs in its own process, so this one owns the
// process's tfjs engine.
runConformance('tfjs (wasm engine)', () => createTfjsBackend({ engine: 'wasm' }));
