// A plain HTTP forwarder in front of a Loopline HTTP process: the address webhooks are subscribed to in a
// multi-process bench, so faults can be applied to the deliveries where they arrive (shopify-traffic.ts
// wraps the forwarder's request listener as it wraps the in-process HTTP server's). Everything else passes
// through untouched: method, path, headers and body both ways.
import { createServer, request, type Server } from 'node:http';

export interface Forwarder {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startForwarder(target: string): Promise<Forwarder> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    const upstream = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'the HTTP process did not answer' }));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
