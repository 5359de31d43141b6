import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  encodeReply,
  rr,
  startFakeUpstream,
  type FakeReply,
  type FakeUpstream,
  type ReceivedQuery,
} from '../helpers/index.js';
import { answerData, startCache } from './support.js';

const answerA =
  (ip: string, ttl = 100) =>
  (query: ReceivedQuery): FakeReply => ({
    answers: query.type === 'A' ? [rr(query.name, 'A', ip, ttl)] : [],
  });

describe('dnsmasq-cache forwarding', () => {
  const upstreams: FakeUpstream[] = [];
  const start = async (handler: (q: ReceivedQuery) => FakeReply | Promise<FakeReply>) => {
    const upstream = await startFakeUpstream(handler);
    upstreams.push(upstream);
    return upstream;
  };
  after(() => Promise.all(upstreams.map((u) => u.close())));

  test('routes by the longest matching --server=/domain/, other names to the default servers', async () => {
    const defaults = await start(answerA('10.0.0.1'));
    const cluster = await start(answerA('10.0.0.2'));
    const svc = await start(answerA('10.0.0.3'));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${defaults.label}`,
      `--server=/cluster.local/in-addr.arpa/${cluster.label}`,
      `--server=/svc.cluster.local/${svc.label}`,
      '--server=/blocked.example/',
      '--server=/svc.cluster.local/other.cluster.local/#',
    ]);
    try {
      assert.deepEqual(answerData(await cache.query('kubernetes.default.svc.cluster.local', 'A')), ['10.0.0.1']);
      assert.deepEqual(answerData(await cache.query('x.pod.cluster.local', 'A')), ['10.0.0.2']);
      assert.deepEqual(answerData(await cache.query('cluster.local', 'A')), ['10.0.0.2'], 'the domain itself');
      assert.deepEqual(answerData(await cache.query('notcluster.local', 'A')), ['10.0.0.1'], 'whole labels only');
      assert.deepEqual(answerData(await cache.query('www.example.com', 'A')), ['10.0.0.1']);
      assert.deepEqual(answerData(await cache.query('a.other.cluster.local', 'A')), ['10.0.0.1'], '/d/# → defaults');
      assert.equal(svc.queries.length, 0, '/svc.cluster.local/# beats the server given for the same domain');
      const blocked = await cache.query('ads.blocked.example', 'A');
      assert.equal(blocked.rcode, 'NXDOMAIN', '--server=/d/ is answered locally');
      const servers = await cache.chaos('servers.bind');
      assert.deepEqual(servers, [`${defaults.label} 4 0`, `${cluster.label} 2 0`, `${svc.label} 0 0`]);
    } finally {
      await cache.close();
    }
  });

  test('a dead server is skipped after the timeout; the next server answers; servers.bind counts the failure', async () => {
    const dead = await start(() => ({ drop: true }));
    const alive = await start(answerA('10.0.1.1'));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      '--strict-order',
      `--server=${dead.label}`,
      `--server=${alive.label}`,
      '--upstream-timeout=150ms',
    ]);
    try {
      const started = performance.now();
      const result = await cache.query('failover.test', 'A');
      assert.deepEqual(answerData(result), ['10.0.1.1']);
      assert.ok(performance.now() - started >= 140, 'waited for the first server');
      assert.deepEqual(await cache.chaos('servers.bind'), [`${dead.label} 1 1`, `${alive.label} 1 0`]);
    } finally {
      await cache.close();
    }
  });

  test('without --strict-order the server that answered last is tried first', async () => {
    const dead = await start(() => ({ drop: true }));
    const alive = await start(answerA('10.0.1.2'));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${dead.label}`,
      `--server=${alive.label}`,
      '--upstream-timeout=150ms',
      '--cache-size=0',
    ]);
    try {
      await cache.query('sticky.test', 'A');
      const started = performance.now();
      await cache.query('sticky.test', 'A');
      assert.ok(performance.now() - started < 140, 'went straight to the good server');
      assert.equal(dead.queries.length, 1);
    } finally {
      await cache.close();
    }
  });

  test('SERVFAIL and REFUSED move on to the next server; all failing relays the first failure within the deadline', async () => {
    const servfail = await start(() => ({ rcode: 'SERVFAIL' }));
    const refused = await start(() => ({ rcode: 'REFUSED' }));
    const dead = await start(() => ({ drop: true }));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      '--strict-order',
      `--server=${servfail.label}`,
      `--server=${refused.label}`,
      `--server=${dead.label}`,
      '--upstream-timeout=400ms',
      '--forward-deadline=600ms',
    ]);
    try {
      const started = performance.now();
      const result = await cache.query('broken.test', 'A', { timeoutMs: 3000 });
      const took = performance.now() - started;
      assert.equal(result.rcode, 'SERVFAIL', 'the first server said SERVFAIL');
      assert.ok(took >= 350 && took < 1200, `SERVFAIL after the budget, not the client's timeout (${took} ms)`);
      assert.equal(servfail.queries.length + refused.queries.length + dead.queries.length, 3);
      const again = await cache.query('broken.test', 'A', { timeoutMs: 3000 });
      assert.equal(again.rcode, 'SERVFAIL', 'SERVFAIL is never cached');
      const stats = await cache.chaos('servers.bind');
      assert.deepEqual(stats, [`${servfail.label} 2 2`, `${refused.label} 2 2`, `${dead.label} 2 2`]);
    } finally {
      await cache.close();
    }
  });

  test('nothing usable: SERVFAIL relayed if a server said so, else REFUSED, as they came (dnsmasq 2.90)', async () => {
    const dead = await start(() => ({ drop: true }));
    const refused = await start(() => ({ rcode: 'REFUSED', aa: true }));
    const refusedToo = await start(() => ({ rcode: 'REFUSED', aa: true }));
    const servfail = await start(() => ({ rcode: 'SERVFAIL', aa: true }));
    const ask = async (servers: FakeUpstream[]) => {
      const cache = await startCache([
        '--no-hosts',
        '--no-resolv',
        '--strict-order',
        ...servers.map((server) => `--server=${server.label}`),
        '--upstream-timeout=100ms',
      ]);
      try {
        return { result: await cache.query('zone-transfer-only.test', 'A'), stats: await cache.chaos('servers.bind') };
      } finally {
        await cache.close();
      }
    };
    // A timeout is no answer: the REFUSED that came is what the client gets, flags and all (dnsmasq relays it).
    const allRefused = await ask([dead, refused, refusedToo]);
    assert.equal(allRefused.result.rcode, 'REFUSED');
    assert.equal(allRefused.result.flags.aa, true, 'the upstream answer, not one made up here');
    assert.equal(allRefused.result.flags.ra, true);
    assert.equal(refusedToo.queries.length, 1, 'the remaining servers were still tried');
    assert.deepEqual(allRefused.stats, [`${dead.label} 1 1`, `${refused.label} 1 1`, `${refusedToo.label} 1 1`]);
    // One SERVFAIL among the refusals: SERVFAIL (test/reliability/cache-refused-relay.test.ts has dnsmasq's cases).
    const oneServfail = await ask([dead, refused, servfail]);
    assert.equal(oneServfail.result.rcode, 'SERVFAIL');
    assert.equal(oneServfail.result.flags.aa, true, 'relayed from the server that said it');
  });

  test('the last server left may use the whole deadline: a lone slow server is waited for, not SERVFAILed', async () => {
    const slow = await start((query) => ({ ...answerA('10.0.3.1')(query), delayMs: 450 }));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${slow.label}`,
      '--upstream-timeout=150ms',
      '--forward-deadline=2s',
    ]);
    try {
      const result = await cache.query('slow.test', 'A');
      assert.equal(result.rcode, 'NOERROR');
      assert.deepEqual(answerData(result), ['10.0.3.1']);
      assert.deepEqual(await cache.chaos('servers.bind'), [`${slow.label} 1 0`]);
    } finally {
      await cache.close();
    }
  });

  test('no servers at all → REFUSED (a local answer, as dnsmasq)', async () => {
    const cache = await startCache(['--no-hosts', '--no-resolv']);
    try {
      assert.equal((await cache.query('nowhere.test', 'A')).rcode, 'REFUSED');
      const stats = await cache.stats();
      assert.deepEqual([stats.hits, stats.misses], [1, 0]);
    } finally {
      await cache.close();
    }
  });

  test('identical questions in flight are sent upstream once (single-flight); joiners count as hits', async () => {
    const slow = await start((q) => ({ ...answerA('10.0.2.1')(q), delayMs: 150 }));
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${slow.label}`]);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => cache.query(i % 2 ? 'flight.test' : 'FLIGHT.test', 'A')),
      );
      assert.equal(slow.queriesFor('flight.test').length, 1);
      for (const [i, result] of results.entries()) {
        assert.deepEqual(answerData(result), ['10.0.2.1']);
        assert.equal(result.packet.questions![0]!.name, i % 2 ? 'flight.test' : 'FLIGHT.test', 'own question case');
      }
      const stats = await cache.stats();
      assert.deepEqual([stats.hits, stats.misses], [19, 1]);
    } finally {
      await cache.close();
    }
  });

  test('--dns-forward-max bounds concurrent forwards per server group: beyond it REFUSED, hits still served', async () => {
    const slow = await start(answerA('10.0.3.1'));
    const other = await start(answerA('10.0.3.2'));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${slow.label}`,
      `--server=/other.test/${other.label}`,
      '--dns-forward-max=5',
    ]);
    try {
      await cache.query('cached.test', 'A');
      slow.setHandler((q) => ({ ...answerA('10.0.3.1')(q), delayMs: 200 }));
      const pending = Array.from({ length: 10 }, (_, i) => cache.query(`slow${i}.test`, 'A', { timeoutMs: 3000 }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(answerData(await cache.query('cached.test', 'A')), ['10.0.3.1'], 'hits still served');
      assert.deepEqual(answerData(await cache.query('x.other.test', 'A')), ['10.0.3.2'], 'other groups unaffected');
      const results = await Promise.all(pending);
      assert.equal(results.filter((r) => r.rcode === 'NOERROR').length, 5);
      assert.equal(results.filter((r) => r.rcode === 'REFUSED').length, 5);
      assert.equal(slow.queries.filter((q) => q.name.startsWith('slow')).length, 5);
    } finally {
      await cache.close();
    }
  });

  test('a truncated UDP answer is fetched again over TCP; a TCP query is forwarded over TCP', async () => {
    const many = (q: ReceivedQuery) =>
      Array.from({ length: 40 }, (_, i) => rr(q.name, 'A', `10.4.${i >> 8}.${i & 255}`, 100));
    const upstream = await start((q) => (q.transport === 'udp' ? { tc: true } : { answers: many(q) }));
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`]);
    try {
      const udp = await cache.query('big.test', 'A', { edns: 4096 });
      assert.equal(udp.packet.answers!.length, 40, 'the TCP answer relayed whole (fits the client’s EDNS size)');
      assert.deepEqual(
        upstream.queriesFor('big.test').map((q) => q.transport),
        ['udp', 'tcp'],
      );
      const small = await cache.query('big.test', 'A');
      assert.equal(small.flags.tc, true, 'a 512-byte client gets TC from the cache');
      const tcp = await cache.query('big2.test', 'A', { tcp: true });
      assert.equal(tcp.packet.answers!.length, 40);
      assert.deepEqual(
        upstream.queriesFor('big2.test').map((q) => q.transport),
        ['tcp'],
      );
    } finally {
      await cache.close();
    }
  });

  test('forged answers (wrong ID, wrong source port, wrong question) are ignored and never cached', async () => {
    const upstream = await start((q) => ({
      answers: [rr(q.name, 'A', '10.5.0.1', 100)],
      delayMs: 20,
      before: [
        { id: ((q.packet.id ?? 0) + 1) & 0xffff, answers: [rr(q.name, 'A', '6.6.6.6', 100)] },
        { fromOtherPort: true, answers: [rr(q.name, 'A', '6.6.6.7', 100)] },
        { questionName: `x.${q.name}`, answers: [rr(`x.${q.name}`, 'A', '6.6.6.8', 100)] },
      ],
    }));
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`]);
    try {
      assert.deepEqual(answerData(await cache.query('victim.test', 'A')), ['10.5.0.1']);
      assert.deepEqual(answerData(await cache.query('victim.test', 'A')), ['10.5.0.1'], 'cached the genuine one');
      await cache.query('x.victim.test', 'A');
      assert.equal(upstream.queriesFor('x.victim.test').length, 1, 'the forged question was not cached');
    } finally {
      await cache.close();
    }
  });

  test('a malformed upstream answer (right ID and question, broken records) is SERVFAIL, not cached', async () => {
    const upstream = await start((q) => {
      const good = { answers: [rr(q.name, 'A', '10.5.5.5', 100)] };
      return q.name === 'broken.test' ? { raw: encodeReply(q, good).subarray(0, -3) } : good;
    });
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`]);
    try {
      assert.equal((await cache.query('broken.test', 'A')).rcode, 'SERVFAIL');
      assert.equal((await cache.query('broken.test', 'A')).rcode, 'SERVFAIL');
      assert.equal(upstream.queriesFor('broken.test').length, 2);
      assert.deepEqual(answerData(await cache.query('fine.test', 'A')), ['10.5.5.5']);
    } finally {
      await cache.close();
    }
  });

  test('only forgeries and no answer → SERVFAIL, nothing cached', async () => {
    const upstream = await start((q) => ({
      drop: false,
      id: ((q.packet.id ?? 0) + 7) & 0xffff,
      answers: [rr(q.name, 'A', '6.6.6.6', 100)],
    }));
    const cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${upstream.label}`,
      '--upstream-timeout=150ms',
      '--forward-deadline=300ms',
    ]);
    try {
      assert.equal((await cache.query('spoofed.test', 'A')).rcode, 'SERVFAIL');
      assert.equal((await cache.stats()).insertions, 0);
    } finally {
      await cache.close();
    }
  });
});
