import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { dashboardData } from './dashboard';
import { DASHBOARD_HTML } from './dashboard-page';
import { checkLiveness, checkReadiness, type HealthReport, type HealthSource } from './health';
import type { AggregatorMetrics } from './metrics';

/** Settings of the aggregator's HTTP server. */
export interface HttpServerOptions {
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly source: HealthSource;
  readonly metrics: AggregatorMetrics;
  readonly log: Logger;
}

/** How long a readiness result is reused, in ms, so frequent probes cost NATS one check. */
const READINESS_CACHE_MS = 1_000;

/** The server could not listen on the configured address. */
export class HttpListenError extends Error {
  readonly code = 'FL_HTTP_LISTEN_FAILED';

  constructor(
    readonly host: string,
    readonly port: number,
    options?: ErrorOptions
  ) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(
      `HTTP server could not listen on ${host}:${port} (${reason}); choose another port with --http-port or FL_HTTP_PORT, or 0 for a free one`,
      options
    );
    this.name = 'HttpListenError';
  }
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` (liveness), `/readyz` (readiness),
 * the dashboard page at `/` and its data at `/api/dashboard`.
 */
export class AggregatorHttpServer {
  private readiness: { at: number; result: Promise<HealthReport> } | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: HttpServerOptions
  ) {}

  /** Starts listening; rejects with HttpListenError when the address is taken or invalid. */
  static async start(options: HttpServerOptions): Promise<AggregatorHttpServer> {
    const server = createServer();
    const instance = new AggregatorHttpServer(server, options);
    server.on('request', (request, response) => void instance.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new HttpListenError(options.host, options.port, { cause: err }));
      server.once('error', onError);
      server.listen(options.port, options.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => options.log.error({ err }, 'HTTP server error'));
    return instance;
  }

  /** Port the server listens on, the chosen one when configured as 0. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL of the server, e.g. http://127.0.0.1:9464. */
  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${this.port}`;
  }

  /** Stops accepting connections and closes the open ones. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        this.send(
          response,
          405,
          'text/plain; charset=utf-8',
          `method ${request.method} not allowed\n`
        );
        return;
      }
      switch (path) {
        case '/metrics':
          this.send(
            response,
            200,
            this.options.metrics.contentType,
            await this.options.metrics.render()
          );
          return;
        case '/healthz':
          this.sendHealth(response, checkLiveness(this.options.source));
          return;
        case '/readyz':
          this.sendHealth(response, await this.cachedReadiness());
          return;
        case '/':
        case '/dashboard':
          this.send(response, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
          return;
        case '/api/dashboard':
          this.sendJson(
            response,
            200,
            dashboardData(this.options.source.status(), this.options.metrics)
          );
          return;
        default:
          this.send(response, 404, 'text/plain; charset=utf-8', `no such path: ${path}\n`);
      }
    } catch (err) {
      this.options.log.error({ err, path }, 'HTTP request failed');
      if (!response.headersSent)
        this.send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    }
  }

  private cachedReadiness(): Promise<HealthReport> {
    const now = Date.now();
    if (this.readiness === undefined || now - this.readiness.at > READINESS_CACHE_MS) {
      this.readiness = { at: now, result: checkReadiness(this.options.source) };
    }
    return this.readiness.result;
  }

  private sendHealth(response: ServerResponse, health: HealthReport): void {
    this.sendJson(response, health.ok ? 200 : 503, health);
  }

  private sendJson(response: ServerResponse, status: number, body: unknown): void {
    this.send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string): void {
    response.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    response.end(response.req.method === 'HEAD' ? undefined : body);
  }
}
