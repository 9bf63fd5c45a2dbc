import { runConformance } from '@octet/conformance';
import { createTfjsBackend } from '../src/index.js';

// The whole suite on tfjs's pure-JS engine, nothing skipped.
runConformance('tfjs (cpu engine)', () => createTfjsBackend({ engine: 'cpu' }));
