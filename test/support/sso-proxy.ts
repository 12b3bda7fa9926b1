// A stand-in for the SSO proxy of the documented production path (docs/security.md, "The Web UI"): one
// origin in front of both the Temporal Web UI and Loopline's codec endpoint. People sign in to the proxy
// (here HTTP basic auth stands in for the company's SSO); for /codec/* the proxy presents the decryptor
// token to Loopline only for people in the decryptor group, and nothing for anyone else, so Loopline
// refuses them. Everything else goes to the Web UI unchanged. Because the UI and the codec share the
// proxy's origin, the UI's decode requests carry the person's sign-in like any other request.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SsoUser {
  password: string;
  groups: string[];
}

export interface SsoProxy {
  url: string;
  close(): Promise<void>;
}

function signedIn(req: IncomingMessage, users: Record<string, SsoUser>): { name: string; user: SsoUser } | undefined {
  const h = req.headers.authorization ?? '';
  if (!/^Basic /i.test(h)) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const name = decoded.slice(0, i);
  const user = users[name];
  return user && user.password === decoded.slice(i + 1) ? { name, user } : undefined;
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, headers: Record<string, string | undefined>) {
  const out = { ...req.headers, ...headers, host: target.host } as Record<string, string | string[] | undefined>;
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: out },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

export async function startSsoProxy(opts: {
  /** 0: any free port. */
  port?: number;
  ui: string;
  loopline: string;
  decryptorToken: string;
  users: Record<string, SsoUser>;
}): Promise<SsoProxy> {
  const ui = new URL(opts.ui);
  const loopline = new URL(opts.loopline);
  const server: Server = createServer((req, res) => {
    const who = signedIn(req, opts.users);
    if (!who) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="Company SSO"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'sign in' }));
      return;
    }
    if (req.url?.startsWith('/codec/')) {
      // The person's own sign-in never reaches Loopline: the proxy's decision does.
      const authorization = who.user.groups.includes('decryptor') ? `Bearer ${opts.decryptorToken}` : undefined;
      forward(req, res, loopline, { authorization, 'x-forwarded-user': who.name });
      return;
    }
    forward(req, res, ui, { authorization: undefined });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
