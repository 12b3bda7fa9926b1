// The sandbox's control API when each simulator runs in its own process (src/sandbox/main.ts <system>), as
// one axios instance, so the traffic harnesses (traffic.ts, shopify-traffic.ts) drive a multi-process
// sandbox exactly as they drive the in-process one:
//   /control/mirakl/…, /control/peoplevox/…, /control/shopify/…, /control/marketplacer/…, /control/reveni/…
//                                                                 → that system's process
//   /control/faults/<system>                                      → that system's process
//   /control/calls                                                → every process; the call logs merged by time
//   /control/health                                               → the first process
import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { CallRecord } from '../../src/sandbox/core/call-log';

export type SimulatedSystem = 'mirakl' | 'peoplevox' | 'shopify' | 'marketplacer' | 'reveni';

/** The origin (http://host:port) of each simulator process. */
export type SimulatorOrigins = Partial<Record<SimulatedSystem, string>>;

export function routedControl(origins: SimulatorOrigins, timeoutMs = 60_000): AxiosInstance {
  const http = axios.getAdapter('http');
  const all = [...new Set(Object.values(origins))];
  if (all.length === 0) throw new Error('routedControl needs at least one simulator origin');
  const originOf = (path: string): string => {
    const m = /^\/control\/(?:faults\/)?([a-z-]+)/.exec(path);
    const system = m?.[1] as SimulatedSystem | undefined;
    const origin = system ? origins[system] : undefined;
    if (origin) return origin;
    if (path === '/control/health') return all[0]!;
    throw new Error(`no simulator process serves ${path}`);
  };
  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const path = (config.url ?? '').split('?')[0]!;
    if (path !== '/control/calls') return http({ ...config, baseURL: originOf(path) });
    // Every process keeps its own call log; the harnesses read one log of every system.
    const responses = await Promise.all(all.map((origin) => http({ ...config, baseURL: origin })));
    if ((config.method ?? 'get').toLowerCase() !== 'get') return responses[0]!;
    const calls: CallRecord[] = [];
    for (const r of responses as AxiosResponse[]) {
      const body = typeof r.data === 'string' ? (JSON.parse(r.data) as { calls: CallRecord[] }) : r.data;
      calls.push(...(body as { calls: CallRecord[] }).calls);
    }
    calls.sort((a, b) => a.at - b.at);
    return { ...(responses[0] as AxiosResponse), data: JSON.stringify({ calls }) };
  };
  return axios.create({ adapter, timeout: timeoutMs, maxContentLength: Infinity, maxBodyLength: Infinity });
}
