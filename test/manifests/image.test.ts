import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';
import { deploymentSpec, findObject, loadManifest, repoRoot, type Container } from './manifest-files.js';
import { programOf } from './served-endpoints.js';

/** Reads the image layout the Dockerfile builds; each regular expression names the line it depends on. */
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

function one(pattern: RegExp, what: string): RegExpExecArray {
  const match = pattern.exec(dockerfile);
  assert.ok(match, `Dockerfile: no ${what}`);
  return match;
}

interface WorkspacePackage {
  dir: string;
  name: string;
  version: string;
  bin?: Record<string, string>;
}

const workspacePackages: WorkspacePackage[] = readdirSync(join(repoRoot, 'packages')).map((dir) => ({
  dir,
  ...(JSON.parse(readFileSync(join(repoRoot, 'packages', dir, 'package.json'), 'utf8')) as Omit<
    WorkspacePackage,
    'dir'
  >),
}));

/** `pnpm --filter <package> --prod deploy --legacy <image dir>` lines: package name → directory in the image. */
const deployed = new Map(
  [...dockerfile.matchAll(/--filter (@kube-dns\/[\w-]+) --prod deploy --legacy (\/app\/[\w-]+)/g)].map((m) => [
    m[1]!,
    m[2]!,
  ]),
);

const containers = deploymentSpec(findObject(loadManifest('kube-dns.yaml'), 'Deployment', 'kube-dns')).template.spec
  .containers;
const programPackage = {
  'kube-dns': '@kube-dns/kubedns',
  'dnsmasq-cache': '@kube-dns/dnsmasq-cache',
  sidecar: '@kube-dns/sidecar',
};

function packageOf(c: Container): WorkspacePackage {
  const name = programPackage[programOf(c)];
  const found = workspacePackages.find((p) => p.name === name);
  assert.ok(found, `no workspace package ${name}`);
  return found;
}

describe('image and Dockerfile', () => {
  const runtimeNode = one(/^ENTRYPOINT \["(\/[^"]+)"\]$/m, 'ENTRYPOINT with the runtime node')[1]!;
  const netBindNode = one(/^RUN setcap cap_net_bind_service=\+ep (\/app\/\S+)$/m, 'setcap line')[1]!;

  test('a multi-stage build: node 20 build stage, distroless node 20 runtime, non-root, SIGTERM', () => {
    one(/^ARG BUILD_IMAGE=node:20-bookworm-slim$/m, 'node:20-bookworm-slim build image');
    one(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs20-debian12(:\w+)?$/m, 'distroless nodejs20 runtime');
    one(/^FROM \$\{RUNTIME_IMAGE\}$/m, 'final stage on the runtime image');
    one(/^RUN pnpm install --offline --frozen-lockfile( \\)?$/m, 'frozen-lockfile install');
    one(/^RUN pnpm exec tsc -b /m, 'tsc -b');
    one(/^COPY --from=build \/app \/app$/m, 'copy of /app, and nothing else, into the runtime');
    assert.equal(one(/^USER (\S+)$/m, 'USER')[1], '1001:1001');
    one(/^STOPSIGNAL SIGTERM$/m, 'STOPSIGNAL SIGTERM');
    assert.equal(runtimeNode, '/nodejs/bin/node');
    assert.equal([...dockerfile.matchAll(/^COPY --from=build /gm)].length, 1, 'the runtime copies only /app');
  });

  test('the three programs, and only they, are deployed with production dependencies', () => {
    assert.deepEqual([...deployed.keys()].sort(), Object.values(programPackage).sort());
  });

  for (const c of containers) {
    test(`${c.name}: command runs the bin the package declares, where the Dockerfile puts it`, () => {
      const pkg = packageOf(c);
      const imageDir = deployed.get(pkg.name);
      assert.ok(imageDir, `${pkg.name} is not deployed into the image`);
      const binEntries = Object.entries(pkg.bin ?? {});
      assert.equal(binEntries.length, 1, `${pkg.name} declares one bin`);
      const [binName, binPath] = binEntries[0]!;
      assert.equal(programOf(c), binName);
      assert.equal(c.command?.[1], posix.join(imageDir, binPath), 'script path in the image');
      const binFile = posix.join('packages', pkg.dir, binPath);
      assert.ok(existsSync(join(repoRoot, binFile)), `${binFile} is missing`);
      assert.equal(c.command?.length, 2, 'command is [node, bin]; flags go in args');
    });

    test(`${c.name}: runs the capability-carrying Node if and only if it adds NET_BIND_SERVICE`, () => {
      // A file capability that the container's bounding set lacks makes execve fail (EPERM).
      const addsNetBind = c.securityContext?.capabilities?.add?.includes('NET_BIND_SERVICE') === true;
      assert.equal(c.command?.[0], addsNetBind ? netBindNode : runtimeNode);
    });

    test(`${c.name}: image is ours, tagged with the packages' version`, () => {
      assert.equal(c.image, `ghcr.io/kube-dns-ts/kube-dns-ts:${packageOf(c).version}`);
    });
  }

  test("the capability-carrying Node is the runtime image's own binary", () => {
    one(/^FROM \$\{RUNTIME_IMAGE\} AS runtime-node$/m, 'runtime-node stage');
    assert.equal(
      one(/^COPY --from=runtime-node \/nodejs\/bin\/node (\S+)$/m, 'copy of the runtime node')[1],
      netBindNode,
    );
  });

  test('.dockerignore keeps local builds out and the workspace complete', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    // A native addon built on the host must not reach the build stage: it is newer than its sources there, so
    // the install script would keep it instead of compiling it against the image's Node and glibc.
    const patterns = [
      '**/node_modules',
      '**/dist',
      '.git',
      'test/*',
      '!test/package.json',
      'packages/daemon-kit/native/build',
    ];
    for (const pattern of patterns) {
      assert.ok(ignored.includes(pattern), `.dockerignore lacks ${pattern}`);
    }
  });
});
