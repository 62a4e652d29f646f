import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How the receiver answers one request; the default answers 200 "ok". */
export type Responder = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

/** A real HTTP webhook receiver on 127.0.0.1 that records every request. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  responder: Responder = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok');
  };
  private server: Server | null = null;
  private waiters: (() => void)[] = [];
  url = '';

  static async start(responder?: Responder): Promise<Receiver> {
    const receiver = new Receiver();
    if (responder) receiver.responder = responder;
    await receiver.listen();
    return receiver;
  }

  private async listen(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(request);
        for (const wake of this.waiters.splice(0)) wake();
        Promise.resolve(this.responder(request, res)).catch(() => res.destroy());
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Waits until `predicate` holds over the received requests (checked on every arrival). */
  async waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs = 10_000, what = 'requests'): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.requests)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.requests.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }
}
