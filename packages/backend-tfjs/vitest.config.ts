import { octetProject } from '../../tooling/vitest/project.js';

export default octetProject('@octet/backend-tfjs');
