import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { silentLogger, startDnsListener } from '@kube-dns/daemon-kit';
import { buildQuery, missingUdpBatchAddon, UDP_IO_KINDS } from '../helpers/index.js';

for (const udpIo of UDP_IO_KINDS)
  test(
    `an answer still being worked out when the listener closes is dropped quietly (UDP I/O ${udpIo})`,
    { skip: udpIo === 'batched' && missingUdpBatchAddon() },
    async () => {
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown): void => {
        rejections.push(reason);
      };
      process.on('unhandledRejection', onRejection);
      let answered!: () => void;
      const handlerDone = new Promise<void>((resolve) => (answered = resolve));
      const listener = await startDnsListener({
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger,
        udpIo,
        handler: (request) =>
          new Promise((resolve) =>
            setTimeout(() => {
              resolve(Buffer.from(request.query));
              answered();
            }, 50),
          ),
      });
      const client = dgram.createSocket('udp4');
      await new Promise<void>((resolve) =>
        client.send(buildQuery('late.test', 'A'), listener.port, '127.0.0.1', () => resolve()),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      await listener.close();
      await handlerDone;
      await new Promise((resolve) => setTimeout(resolve, 20));
      client.close();
      process.off('unhandledRejection', onRejection);
      assert.deepEqual(rejections, []);
    },
  );
