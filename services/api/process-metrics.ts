// Request and process metrics for /metrics, collected through fastify hooks and the supervisor
// snapshot (so one scrape of core shows the whole tree).
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './deps.js';
import type { CounterSeries, HistogramSeries } from '../common/metrics.js';

export function registerProcessMetrics(app: FastifyInstance, deps: ApiDeps): void {
  const m = deps.metrics;
  const requests = m.counter('lucid_http_requests_total', 'HTTP requests by method, route and status');
  const duration = m.histogram('lucid_http_request_duration_seconds', 'HTTP request duration', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]);
  m.gauge('process_resident_memory_bytes', 'Resident set size of the core process', (set) => set(process.memoryUsage().rss));
  m.gauge('nodejs_heap_used_bytes', 'V8 heap in use in the core process', (set) => set(process.memoryUsage().heapUsed));
  m.gauge('lucid_healthy', '1 when every critical child is ready', (set) => {
    const s = deps.supervisor.snapshot;
    set(s ? Number(s.healthy) : deps.supervisor.attached ? 0 : 1);
  });
  m.gauge('lucid_child_up', '1 when the child is ready', (set) => {
    for (const c of deps.supervisor.snapshot?.children ?? []) set(Number(c.phase === 'ready'), { child: c.name });
  });
  m.gauge('lucid_child_restarts', 'Restarts of each child since the supervisor started', (set) => {
    for (const c of deps.supervisor.snapshot?.children ?? []) set(c.restarts, { child: c.name });
  });
  m.gauge('lucid_led_state', 'The status LED pattern shown (1 for the current state)', (set) => {
    const led = deps.supervisor.snapshot?.led;
    if (led) set(1, { state: led.state });
  });

  // Every request passes here: the labelled series are looked up by one short string (routes,
  // methods and statuses are few) instead of sorting and escaping two label objects, and the
  // hook is a callback (no promise). A/B against no hook at all under autocannon: the
  // difference is inside this machine's ±5 % noise.
  const series = new Map<string, { count: CounterSeries; time: HistogramSeries }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${reply.statusCode} ${request.method} ${route}`;
    let s = series.get(key);
    if (!s) {
      s = { count: requests.series({ method: request.method, route, status: String(reply.statusCode) }), time: duration.series({ route }) };
      series.set(key, s);
    }
    s.count.inc();
    s.time.observe(reply.elapsedTime / 1000);
    done();
  });
}
