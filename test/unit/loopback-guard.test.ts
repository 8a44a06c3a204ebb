import net from 'node:net';
import { describe, expect, it } from 'vitest';

describe('the test network guard', () => {
  it('when a test connects beyond loopback, then the connection is refused before any packet leaves', () => {
    const socket = new net.Socket();
    expect(() => socket.connect({ host: '10.0.0.5', port: 443 })).toThrow(/only connect to loopback; refused a connection to 10\.0\.0\.5/);
    expect(() => socket.connect(443, 'management.azure.com')).toThrow(/refused a connection to management\.azure\.com/);
    socket.destroy();
  });

  it('when a test connects to loopback, then the connection goes ahead', async () => {
    const server = net.createServer((connection) => connection.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => undefined);
      socket.on('data', (data) => resolve(data.toString()));
      socket.on('error', reject);
    });
    await new Promise((resolve) => server.close(resolve));
    expect(greeting).toBe('hello');
  });
});
