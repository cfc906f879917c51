/** Re-renders bench/REPORT.md from bench/results.json (after editing the report's layout). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/processes.ts';
import { renderReport } from './lib/report.ts';
import type { BenchResults } from './run.ts';

const results = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')) as BenchResults;
writeFileSync(join(ROOT, 'bench/REPORT.md'), renderReport(results));
console.log('bench/REPORT.md written');
