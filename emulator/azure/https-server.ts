/**
 * One HTTPS listener on loopback: turns Node requests into EmulatorRequest,
 * EmulatorResponse into bytes, and closes without waiting for idle keep-alive
 * connections (SDK clients keep them open).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorRequest, EmulatorResponse } from './contracts.js';

export const HOST = '127.0.0.1';
/** Request bodies larger than this are refused: nothing emulated needs more. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface Listener {
  port: number;
  origin: string;
  close(): Promise<void>;
}

export interface TlsMaterial {
  serverKeyPem: string;
  serverCertPem: string;
}

export type RequestHandler = (request: EmulatorRequest, remoteAddress: string | undefined) => Promise<EmulatorResponse>;

/**
 * Listens on `preferredPort` when it is free (0: any free port); when it is taken
 * and `fallbackToFreePort` is set, on any free port instead.
 */
export async function listen(
  tls: TlsMaterial,
  handler: RequestHandler,
  options: { preferredPort: number; fallbackToFreePort: boolean; onError: (error: unknown) => void },
): Promise<Listener> {
  const server = createServer(
    {
      key: tls.serverKeyPem,
      cert: tls.serverCertPem,
      // Idle connections stay until the client closes them or the emulator stops (close() below), never on a
      // wall-clock timer: under a virtual clock a busy process lets seconds pass in which a pooled connection
      // looks idle, and Node closing it (after 5 s by default) races the client's next request on it, which then
      // fails with ECONNRESET (nodejs/node#54293). See test/integration/emulator-connections.test.ts.
      keepAliveTimeout: 0,
    },
    (req, res) => {
      void serve(req, res, handler).catch(options.onError);
    },
  );
  try {
    await bind(server, options.preferredPort);
  } catch (error) {
    if (!options.fallbackToFreePort || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.preferredPort === 0) {
      throw error;
    }
    await bind(server, 0);
  }
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `https://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bind(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function serve(req: IncomingMessage, res: ServerResponse, handler: RequestHandler): Promise<void> {
  let response: EmulatorResponse;
  try {
    const body = await readBody(req);
    const request: EmulatorRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url: new URL(req.url ?? '/', `https://${req.headers.host ?? HOST}`),
      headers: req.headers,
      body,
    };
    response = await handler(request, req.socket.remoteAddress);
  } catch (error) {
    response = {
      status: (error as { statusCode?: number }).statusCode ?? 500,
      body: { error: { code: 'InternalServerError', message: `The emulator failed: ${(error as Error).message}` } },
    };
  }
  write(res, response);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`request body larger than ${MAX_BODY_BYTES} bytes`), { statusCode: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: Buffer | undefined;
  if (response.body === undefined || response.body === null) {
    payload = undefined;
  } else if (Buffer.isBuffer(response.body)) {
    payload = response.body;
  } else if (typeof response.body === 'string') {
    payload = Buffer.from(response.body);
  } else {
    payload = Buffer.from(JSON.stringify(response.body));
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(payload?.length ?? 0);
  res.writeHead(response.status, headers);
  res.end(payload);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
