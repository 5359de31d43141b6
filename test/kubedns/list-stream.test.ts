import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { startApiServer } from '@kube-dns/apiserver-sim';
import { ApiListError, createApiLists, streamList } from '@kube-dns/kubedns/watch/api-lists';
import {
  createInformer,
  defaultWatchTiming,
  describeError,
  type ObjectIdentity,
} from '@kube-dns/kubedns/watch/informer';
import { createWatchMetrics } from '@kube-dns/kubedns/watch-metrics';
import { Registry } from 'prom-client';
import { silentLogger } from '@kube-dns/daemon-kit';
import { waitUntil } from '../helpers/index.js';
import { ListStreamParser } from '@kube-dns/kubedns/watch/list-stream';
import { loadKubeConfig } from '@kube-dns/kubedns/watch/kube-config';
import { clusterIpService, endpointSlice, fastWatchTiming } from './watch-fixtures.js';

/** The streaming parser over `text` cut into chunks of the given sizes (cycled). */
function parseInChunks(text: string, sizes: readonly number[]): { items: unknown[]; fields: Record<string, unknown> } {
  const items: unknown[] = [];
  const parser = new ListStreamParser((item) => items.push(item));
  const bytes = Buffer.from(text);
  for (let offset = 0, k = 0; offset < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    parser.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return { items, fields: parser.end() };
}

/** The slow path: the whole body through JSON.parse. */
function parseWhole(text: string): { items: unknown[]; fields: Record<string, unknown> } {
  const { items, ...fields } = JSON.parse(text) as { items?: unknown[] } & Record<string, unknown>;
  return { items: items ?? [], fields };
}

/** A small deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

function randomValue(rnd: (n: number) => number, depth: number): unknown {
  switch (rnd(depth > 3 ? 5 : 8)) {
    case 0:
      return rnd(2000) - 1000 + (rnd(2) === 0 ? 0.25 : 0);
    case 1:
      return ['x', 'a"b', 'c\\d', 'é✓😀', '{[]}', ',:', '', '\u0000\n\t'][rnd(8)];
    case 2:
      return [true, false, null][rnd(3)];
    case 3:
      return 1e21;
    case 4:
      return 'plain text';
    case 5:
      return Array.from({ length: rnd(4) }, () => randomValue(rnd, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rnd(4) }, (_, i) => [`k${i}${['', '"', '\\', ' '][rnd(4)]}`, randomValue(rnd, depth + 1)]),
      );
  }
}

describe('kube-dns lists: the streaming parser equals JSON.parse of the whole body', () => {
  test('a list cut at every byte boundary', () => {
    const text = JSON.stringify({
      kind: 'ServiceList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '42', continue: '' },
      items: [
        { metadata: { name: 'a', namespace: 'default' }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 53 }] } },
        { metadata: { name: 'b"}]', namespace: 'x\\' }, spec: {} },
      ],
    });
    const want = parseWhole(text);
    for (let size = 1; size <= text.length; size++) assert.deepEqual(parseInChunks(text, [size]), want, `size ${size}`);
  });

  test('2,000 generated bodies (keys in any order, whitespace, escapes, nested values) in random chunk sizes', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 2000; round++) {
      const fields: Record<string, unknown> = {
        kind: 'List',
        metadata: { resourceVersion: String(rnd(100000)) },
        items: Array.from({ length: rnd(6) }, () => randomValue(rnd, 0)),
      };
      if (rnd(3) === 0) fields['extra'] = randomValue(rnd, 0);
      const keys = Object.keys(fields);
      const ordered = Object.fromEntries(
        keys.map((_, i) => keys[(i + rnd(keys.length)) % keys.length]!).map((k) => [k, fields[k]]),
      );
      const text = rnd(2) === 0 ? JSON.stringify(ordered) : JSON.stringify(ordered, null, 1 + rnd(3));
      const sizes = [1 + rnd(rnd(2) === 0 ? 3 : 40), 1 + rnd(7), 1 + rnd(64)];
      assert.deepEqual(parseInChunks(text, sizes), parseWhole(text), text);
    }
  });

  test('items null, an empty list, an empty object, a __proto__ field', () => {
    for (const text of [
      '{"items":null}',
      '{"items":[]}',
      '{}',
      '{"__proto__":{"x":1},"items":[{"__proto__":2}]}',
      ' {\n"items" : [ 1 , "2" ] }\n',
    ]) {
      assert.deepEqual(parseInChunks(text, [1]), parseWhole(text), text);
      assert.deepEqual(parseInChunks(text, [1000]), parseWhole(text), text);
    }
  });

  test('what JSON.parse rejects is rejected: truncated, trailing bytes, bad separators, bad values', () => {
    const bad = [
      '',
      '{',
      '{"a":1',
      '{"a" 1}',
      '{"a":1,}',
      '{"items":[1,]}',
      '{"items":[,1]}',
      '{"a":1}x',
      '{"a":1}{}',
      '{"items":[{"a":1}',
      '{a:1}',
      '{"a":tru}',
      '{"items":[1 2]}',
      '{"a":1 "b":2}',
      '{"items":[{]}',
      '{"a":"unterminated}',
      '{"items":[-]}',
      '{"a":1}}',
      '{,}',
      '{"a"::1}',
    ];
    for (const text of bad) {
      assert.throws(() => JSON.parse(text), `JSON.parse accepts ${text}`);
      for (const size of [1, 3, 1000])
        assert.throws(() => parseInChunks(text, [size]), `accepted ${JSON.stringify(text)}`);
    }
  });

  test('a body that is not an object is not a list', () => {
    for (const text of ['[1]', '"x"', '1', 'null']) assert.throws(() => parseInChunks(text, [1]));
  });
});

describe('kube-dns lists: streamed from the apiserver', () => {
  test('items and resourceVersion as the apiserver lists them, each mapped as it arrives; gzip too', async (t) => {
    for (const compression of [false, true]) {
      const sim = await startApiServer({ compression });
      t.after(() => sim.close());
      // Enough objects for a body over the 128 KiB the simulator starts compressing at.
      const objects = Array.from({ length: 600 }, (_, i) =>
        clusterIpService(`ns-${i % 7}`, `svc-${i}`, `10.0.${i >> 8}.${i & 255}`, [['http', 80]]),
      );
      sim.objects.applyAll([
        ...objects,
        endpointSlice('ns-1', 'svc-1', 'svc-1-x', [{ ip: '10.1.0.1' }], [['http', 80]]),
      ]);
      const kubeConfig = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' });
      const lists = createApiLists(kubeConfig);
      const response = await fetch(`${sim.url}/api/v1/services`);
      const whole = (await response.json()) as { items: unknown[]; metadata: { resourceVersion: string } };
      let mapped = 0;
      const listed = await lists.services(new AbortController().signal, (item) => {
        mapped++;
        return item;
      });
      assert.equal(mapped, whole.items.length);
      assert.deepEqual(listed.items, whole.items);
      assert.equal(listed.resourceVersion, whole.metadata.resourceVersion);
      const slices = await lists.endpointSlices(new AbortController().signal, (item) => item['metadata']);
      assert.deepEqual(
        slices.items.map((m) => (m as { name: string }).name),
        ['svc-1-x'],
      );
      const seen = sim.requests.entries({ resource: 'services', verb: 'list' });
      assert.ok(seen.length >= 1);
    }
  });

  test('the ConfigMap list carries its field selector', async (t) => {
    const sim = await startApiServer();
    t.after(() => sim.close());
    sim.objects.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      data: { a: 'b' },
    });
    sim.objects.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'other', namespace: 'kube-system' },
      data: {},
    });
    const lists = createApiLists(
      loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' }),
    );
    const listed = await lists.configMap(
      'kube-system',
      'kube-dns',
      new AbortController().signal,
      (item) => item['data'],
    );
    assert.deepEqual(listed.items, [{ a: 'b' }]);
  });

  test('an error status is an ApiListError with the status and the Status message (HTTP 401 in logs)', async (t) => {
    const sim = await startApiServer({ tokens: ['right'] });
    t.after(() => sim.close());
    const kubeConfig = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' });
    const error = await streamList(kubeConfig, '/api/v1/services', {}, new AbortController().signal, (x) => x).then(
      () => assert.fail('listed without a token'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiListError);
    assert.equal(error.statusCode, 401);
    assert.match(describeError(error), /^HTTP 401/);
  });

  test('a body cut short, or not JSON, fails the list; an abort ends it', async (t) => {
    let mode: 'cut' | 'garbage' | 'hang' = 'cut';
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      if (mode === 'cut') {
        response.write('{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},');
        setTimeout(() => response.socket?.destroy(), 20);
      } else if (mode === 'garbage') {
        response.end('<html>not json</html>');
      } else {
        response.write('{"items":[');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const kubeConfig = loadKubeConfig({ kubeMasterUrl: url, kubecfgFile: null, userAgent: 'kube-dns/test' });
    await assert.rejects(streamList(kubeConfig, '/api/v1/services', {}, new AbortController().signal, (x) => x));
    mode = 'garbage';
    await assert.rejects(streamList(kubeConfig, '/api/v1/services', {}, new AbortController().signal, (x) => x));
    mode = 'hang';
    const controller = new AbortController();
    const pending = streamList(kubeConfig, '/api/v1/services', {}, controller.signal, (x) => x);
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(pending);
  });
});

describe('kube-dns informer: listed objects applied as they stream, identities kept', () => {
  test('each listed object is upserted once as it arrives; the cache hands back identities only', async (t) => {
    const sim = await startApiServer();
    t.after(() => sim.close());
    sim.objects.applyAll([1, 2, 3].map((i) => clusterIpService('default', `svc-${i}`, `10.0.0.${i}`)));
    const kubeConfig = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' });
    const upserts: Array<{ name: string; slim: string; fromList: boolean }> = [];
    const removed: ObjectIdentity[] = [];
    let listed: ObjectIdentity[] = [];
    let listedCalls = 0;
    const informer = createInformer<string>({
      kind: 'services',
      kubeConfig,
      path: '/api/v1/services',
      list: createApiLists(kubeConfig).services,
      convert: (object) => `converted ${(object['metadata'] as { name: string }).name}`,
      handlers: {
        upsert: (object, fromList) => upserts.push({ name: object.metadata.name, slim: object.slim, fromList }),
        remove: (object) => removed.push(object),
        listed: (objects) => {
          listedCalls++;
          listed = [...objects];
        },
      },
      logger: silentLogger,
      metrics: createWatchMetrics(new Registry()),
      timing: { ...defaultWatchTiming, ...fastWatchTiming },
    });
    informer.start();
    t.after(() => informer.stop());
    await waitUntil('the watch to open', () => informer.connected);
    assert.deepEqual(
      upserts.map((u) => [u.name, u.slim, u.fromList]),
      [1, 2, 3].map((i) => [`svc-${i}`, `converted svc-${i}`, true]),
    );
    assert.equal(listedCalls, 1);
    assert.deepEqual(
      listed.map((o) => [o.metadata.name, (o as { slim?: unknown }).slim]),
      [1, 2, 3].map((i) => [`svc-${i}`, null]),
    );

    sim.objects.patch({ kind: 'Service', namespace: 'default', name: 'svc-2' }, { metadata: { labels: { a: 'b' } } });
    await waitUntil('the update', () => upserts.length === 4);
    assert.deepEqual(upserts[3], { name: 'svc-2', slim: 'converted svc-2', fromList: false });
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'svc-1' });
    await waitUntil('the delete', () => removed.length === 1);
    assert.equal(removed[0]!.metadata.name, 'svc-1');

    // While no watch is open: svc-3 goes, svc-4 comes, the history expires. The resume is 410, the re-list
    // applies every listed object again as it streams, and svc-3, gone from the list, is removed: the object
    // handed back is the cached one, which no longer holds the slim form.
    sim.faults.dropWatches();
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'svc-3' });
    sim.objects.create(clusterIpService('default', 'svc-4', '10.0.0.4'));
    sim.faults.expireHistory();
    await waitUntil('the re-list', () => listedCalls === 2);
    assert.deepEqual(
      upserts.slice(4).map((u) => [u.name, u.fromList]),
      [
        ['svc-2', true],
        ['svc-4', true],
      ],
    );
    assert.deepEqual(
      removed.slice(1).map((o) => [o.metadata.name, (o as { slim?: unknown }).slim]),
      [['svc-3', null]],
    );
  });
});
