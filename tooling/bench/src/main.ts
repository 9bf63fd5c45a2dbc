// `pnpm bench [suite...]`: runs the benchmark suites and prints ratios against peers measured in the same run.
import { suites } from './suites.js';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`unknown bench suite ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  console.log(`\n## ${name}`);
  await suites[name]!();
}
