import { corpus } from './tests/helpers/corpora.js';
import { rawGzipLimit, runPipeline, percentile, MiB } from './tests/bench/_pipeline-lib.js';
const k = (process.argv[2] ?? 'screen') as 'screen';
const data = corpus(k, 48 * MiB, 1);
for (const conc of [2, 3, 4]) {
  const raw = await rawGzipLimit(data, MiB, 4);
  const p = await runPipeline(data, { chunkSize: MiB, concurrency: conc });
  const raw2 = await rawGzipLimit(data, MiB, 4);
  console.log(k, conc, 'raw', raw.toFixed(1), raw2.toFixed(1), 'pipe', p.mbps.toFixed(1), 'ratio', (p.mbps / Math.max(raw, raw2)).toFixed(2), 'p50', percentile(p.chunkMs, 50).toFixed(1), 'p99', percentile(p.chunkMs, 99).toFixed(1));
}
