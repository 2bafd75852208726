// Pipeline metrics for /metrics: chunks and bytes by codec, and per-chunk latency (full → durable).
import type { MetricsRegistry } from '../common/metrics.js';
import type { ChunkEvent } from './context.js';

export function chunkMetrics(registry: MetricsRegistry): (e: ChunkEvent) => void {
  const chunks = registry.counter('lucid_chunks_written_total', 'Chunk objects written, by codec');
  const plain = registry.counter('lucid_chunk_plain_bytes_total', 'Plaintext bytes written as chunks, by codec');
  const stored = registry.counter('lucid_chunk_stored_bytes_total', 'Stored (compressed, encrypted) bytes of chunk objects, by codec');
  const seconds = registry.histogram('lucid_chunk_seconds', 'Time from a chunk being full to its object being durable', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]);
  return (e) => {
    const labels = { codec: e.codec };
    chunks.inc(labels);
    plain.inc(labels, e.plainBytes);
    stored.inc(labels, e.storedBytes);
    seconds.observe(e.ms / 1000);
  };
}
