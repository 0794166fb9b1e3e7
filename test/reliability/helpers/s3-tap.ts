// A loopback HTTP proxy in front of a real S3 server. The service under test talks to S3 through it, so
// that a test can see each S3 request as it happens and hold it — before S3 gets it, or after S3 has
// stored it but before the service hears back — and stop S3 or kill the service at exactly that point.
// Nothing is faked: every request that is let through is answered by the S3 server itself.
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Request {
  method: string;
  /** The object key (path-style: the path after the bucket), '' for bucket-level requests. */
  key: string;
  query: URLSearchParams;
}

export interface Held {
  request: S3Request;
  /** Lets the request continue (to S3, or its answer back to the service). */
  release(): void;
  /** Drops the service's connection without an answer, as a server that died would. */
  cut(): void;
}

/** before: S3 has not seen the request; after: S3 has answered, the service has not heard it yet. */
export type HoldPoint = 'before' | 'after';

interface Waiter {
  match: (request: S3Request) => boolean;
  hold: HoldPoint;
  resolve: (held: Held) => void;
}

export class S3Tap {
  /** Every request seen, in order. */
  readonly seen: S3Request[] = [];
  private readonly waiters: Waiter[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  static async start(target: string): Promise<S3Tap> {
    const server = createServer();
    const tap = new S3Tap(server, new URL(target));
    server.on('request', (req, res) => tap.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return tap;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves with the next request that matches, held at `hold` until the test releases or cuts it. */
  next(match: (request: S3Request) => boolean, hold: HoldPoint = 'before'): Promise<Held> {
    return new Promise((resolve) => this.waiters.push({ match, hold, resolve }));
  }

  /** Resolves once `count` requests that match have been seen (counting those seen already). */
  async seenAtLeast(match: (request: S3Request) => boolean, count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.filter(match).length < count) {
      if (Date.now() > deadline) throw new Error(`S3 tap: saw ${this.seen.filter(match).length} of ${count} matching requests`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://tap');
    const [, , ...rest] = url.pathname.split('/'); // '', bucket, key…
    const request: S3Request = { method: req.method ?? 'GET', key: decodeURIComponent(rest.join('/')), query: url.searchParams };
    this.seen.push(request);
    const index = this.waiters.findIndex((w) => w.match(request));
    if (index < 0) return this.pass(req, res);
    const waiter = this.waiters.splice(index, 1)[0];
    const cut = () => req.socket.destroy();
    if (waiter.hold === 'before') waiter.resolve({ request, release: () => this.pass(req, res), cut });
    else this.pass(req, res, (deliver) => waiter.resolve({ request, release: deliver, cut }));
  }

  /**
   * Sends the request on to S3 and S3's answer back (or hands the delivery to `holdAnswer`). A dead S3
   * cuts the service's connection.
   */
  private pass(req: IncomingMessage, res: ServerResponse, holdAnswer?: (deliver: () => void) => void): void {
    if (req.socket.destroyed) return;
    const upstream = forward({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
      const deliver = () => {
        if (res.destroyed) return void reply.resume();
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      };
      if (holdAnswer) holdAnswer(deliver);
      else deliver();
    });
    upstream.on('error', () => req.socket.destroy());
    // The service went away (killed) before S3 answered: abandon the request upstream too.
    res.on('close', () => {
      if (!res.headersSent) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
