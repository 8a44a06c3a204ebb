// Tests reach nothing but this machine's loopback: the emulator, the durable
// driver's HTTP API. A connection anywhere else is a bug (an unconfigured SDK
// client falling back to Azure, IMDS, a real vault) and fails the test loudly.
import net from 'node:net';

const originalConnect = net.Socket.prototype.connect;

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

function targetHost(args: unknown[]): string | null {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = first as { path?: string; host?: string };
    if (options.path) return null;
    return options.host ?? 'localhost';
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return null; // a unix socket path
  return typeof second === 'string' ? second : 'localhost';
}

net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]) {
  const host = targetHost(Array.isArray(args[0]) ? (args[0] as unknown[]) : args);
  if (host !== null && !isLoopback(host)) {
    throw new Error(`tests may only connect to loopback; refused a connection to ${host}`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
