// Real HTTP listeners on 127.0.0.1 that answer as Feishu, DingTalk, Slack, a generic webhook and
// JIRA answer (success and error bodies), recording what they received.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Received {
  path: string;
  method: string;
  headers: IncomingMessage['headers'];
  body: any;
  at: number;
}

export type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

export interface Endpoint {
  url: string;
  received: Received[];
  /** Replaces the handler (e.g. to start failing). */
  handle(h: Handler): void;
  close(): Promise<void>;
}

export async function startEndpoint(initial: Handler): Promise<Endpoint> {
  let handler = initial;
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep text
      }
      const r = { path: req.url ?? '/', method: req.method ?? 'GET', headers: req.headers, body, at: Date.now() };
      received.push(r);
      try {
        await handler(r, res);
      } catch {
        if (!res.headersSent) res.writeHead(500).end('handler error');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    handle: (h) => (handler = h),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

export const feishuOk: Handler = (_r, res) => json(res, 200, { code: 0, msg: 'success', data: {} });
export const dingtalkOk: Handler = (_r, res) => json(res, 200, { errcode: 0, errmsg: 'ok' });
export const slackOk: Handler = (_r, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('ok');
};
export const webhookOk: Handler = (_r, res) => json(res, 200, { received: true });
