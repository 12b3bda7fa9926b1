// The Temporal dev server's own count of the requests it served, by operation (its Prometheus endpoint,
// `--metrics-port`): what the engine did for a run, whoever asked (workers polling and completing tasks, clients
// starting, signalling and describing workflows). Two snapshots give a run's requests; per order, the real run's
// against the ceiling's say which calls make the difference.
import axios from 'axios';

export type RequestCounts = Record<string, number>;

/** `service_requests` summed by operation (every service: frontend, history, matching). */
export async function serverRequests(metricsUrl: string): Promise<RequestCounts> {
  const text = (await axios.get<string>(metricsUrl, { responseType: 'text', timeout: 10_000 })).data;
  const counts: RequestCounts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('service_requests{')) continue;
    const op = /operation="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!op || !Number.isFinite(value)) continue;
    counts[op] = (counts[op] ?? 0) + value;
  }
  return counts;
}

/** Requests between two snapshots, per order, largest first (operations under `min` an order left out). */
export function requestsPerOrder(before: RequestCounts, after: RequestCounts, orders: number, min = 0.05) {
  const out: Array<[string, number]> = [];
  for (const [op, v] of Object.entries(after)) {
    const d = (v - (before[op] ?? 0)) / Math.max(1, orders);
    if (d >= min) out.push([op, Math.round(d * 100) / 100]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}
