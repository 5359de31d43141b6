import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { delay, StartupError } from '@kube-dns/daemon-kit';
import { startApiserver, type Apiserver } from './apiserver.js';
import { COMPONENT, type LocalPodConfig } from './cli.js';
import { prepareLocalDirs, readClusterObjects } from './cluster-dir.js';
import { localPod, podPorts, type LocalPod } from './local-processes.js';
import { LAUNCHER, type Output } from './output.js';
import { loadPodContainers } from './pod-manifest.js';
import { findFreePorts, planPorts, type FreePortFinder } from './port-plan.js';
import { startReadinessMonitor, type CheckState, type StatusCheck } from './readiness-monitor.js';
import { formatSuggestions, freshAnswersHint, suggestQueries } from './suggestions.js';
import {
  describeExit,
  findSetpriv,
  startSupervisedProcess,
  type ProcessExit,
  type SupervisedProcess,
} from './supervised-process.js';

export interface MainDeps {
  output: Output;
  /** The environment the processes inherit. */
  env?: NodeJS.ProcessEnv;
  findFreePorts?: FreePortFinder;
  /** The setpriv binary for --pdeathsig, null for none; default: found on PATH (Linux). */
  setpriv?: string | null;
}

export interface LocalPodHandle {
  readonly pod: LocalPod;
  /** The simulator, then the Pod's processes in the manifest's order. */
  readonly processes: readonly SupervisedProcess[];
  /** Null with --kubeconfig. */
  readonly apiserverUrl: string | null;
  /** The exit code once everything has ended: 0 after a clean stop, 1 when a process failed. */
  readonly done: Promise<number>;
  /** SIGTERM to the Pod's processes (as the kubelet does), then to the simulator; waits for them all. */
  stop(reason: string): Promise<number>;
  /** SIGKILL to everything still running. */
  kill(): void;
}

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

/** Exit 0, or ended by our SIGTERM before its handler was installed (a stop early in its startup). */
const stoppedCleanly = (exit: ProcessExit): boolean => exit.code === 0 || exit.signal === 'SIGTERM';

/** Waits for a process to end, SIGKILLing it after `timeoutMs`. */
async function ended(process: SupervisedProcess, timeoutMs: number, output: Output): Promise<ProcessExit> {
  const timeout = new AbortController();
  const late = delay(timeoutMs, timeout.signal).then(() => 'late' as const);
  const outcome = await Promise.race([process.exited, late]);
  timeout.abort();
  if (outcome !== 'late') return outcome;
  output.line(LAUNCHER, `${process.name} did not stop within ${timeoutMs / 1000}s: killing it`, 'warn');
  process.signal('SIGKILL');
  return process.exited;
}

/**
 * Starts the local Pod: the simulator (unless --kubeconfig), then kube-dns, dnsmasq-cache and sidecar with the
 * manifest's arguments made local; relays their logs, reports readiness changes, prints the commands to try
 * once everything is ready, and stops the rest when one process ends on its own.
 */
export async function main(config: LocalPodConfig, deps: MainDeps): Promise<LocalPodHandle> {
  const output = deps.output;
  const env = deps.env ?? process.env;
  const setpriv = deps.setpriv === undefined ? findSetpriv(env) : deps.setpriv;
  const say = (text: string, level: string | null = null): void => output.line(LAUNCHER, text, level);
  const shown = (path: string): string => {
    const rel = relative(config.repoRoot, path);
    return rel.startsWith('..') ? path : rel;
  };

  if (config.kubeconfig !== null && !existsSync(config.kubeconfig))
    fail(`--kubeconfig: ${config.kubeconfig} does not exist`);
  const containers = loadPodContainers(config.manifest, config.repoRoot);
  const plan = await planPorts(
    podPorts(containers, env),
    { mode: config.portMode, offset: config.portOffset, host: config.bindAddress },
    deps.findFreePorts ?? findFreePorts,
  );
  const { copiedExamples } = prepareLocalDirs(config);
  const kubeconfig = config.kubeconfig ?? join(config.stateDir, 'kubeconfig');
  const pod = localPod(containers, {
    ports: plan,
    bindAddress: config.bindAddress,
    kubeconfig,
    configDir: config.configDir,
    upstreams: config.upstreams,
    shutdownGraceMs: config.shutdownGraceMs,
    baseEnv: env,
  });

  say(`the kube-dns Pod of ${shown(config.manifest)} on ${config.bindAddress} (${config.portModeReason})`);
  const programWidth = Math.max(...pod.ports.map((r) => r.program.length));
  const whatWidth = Math.max(...pod.ports.map((r) => r.what.length));
  for (const row of pod.ports) {
    const moved = row.podPort === row.localPort ? `${row.localPort}` : `${row.podPort} → ${row.localPort}`;
    say(`  ${row.program.padEnd(programWidth)}  ${row.what.padEnd(whatWidth)}  ${moved}`);
  }
  if (config.clusterDir !== null) {
    const note = copiedExamples ? ` (copied from ${shown(config.examplesDir)})` : '';
    say(
      `cluster: the apiserver simulator serving ${shown(config.clusterDir)}/*.yaml${note}; edit them while this runs`,
    );
  } else {
    say(`cluster: ${config.kubeconfig} (no simulator)`);
  }
  say(`kube-dns ConfigMap folder: ${shown(config.configDir)}/ (files stubDomains, upstreamNameservers apply live)`);

  let apiserver: Apiserver | null = null;
  if (config.clusterDir !== null) {
    apiserver = await startApiserver({
      repoRoot: config.repoRoot,
      clusterDir: config.clusterDir,
      kubeconfig,
      port: config.apiserverPort,
      env,
      output,
      setpriv,
    });
    say(`apiserver simulator at ${apiserver.url} (pid ${apiserver.process.pid}), kubeconfig ${shown(kubeconfig)}`);
  }

  const podProcesses = pod.processes.map((spec) => {
    const child = startSupervisedProcess(
      {
        name: spec.program,
        command: process.execPath,
        args: [spec.bin, ...spec.args],
        env: { ...env, ...spec.env },
        cwd: config.repoRoot,
      },
      output,
      { setpriv },
    );
    const envText = Object.entries(spec.env)
      .map(([k, v]) => `${k}=${v} `)
      .join('');
    say(`started ${spec.program} (pid ${child.pid}): ${envText}${shown(spec.bin)} ${spec.args.join(' ')}`);
    return child;
  });
  const processes = apiserver ? [apiserver.process, ...podProcesses] : podProcesses;

  const checks: StatusCheck[] = [
    { process: 'kube-dns', name: '/readiness', url: pod.endpoints.readinessUrl },
    ...pod.endpoints.healthchecks.map((h) => ({ process: 'sidecar', name: `/healthcheck/${h.label}`, url: h.url })),
  ];
  const suggestions = suggestQueries(config.clusterDir !== null ? readClusterObjects(config.clusterDir) : [], {
    domain: pod.endpoints.domain,
    server: pod.endpoints.dns,
  });
  let everReady = false;
  let stopping = false;
  const onChange = (check: StatusCheck, state: CheckState, previous: CheckState | null): void => {
    const from = previous?.status ?? '-';
    const detail = state.status === 200 ? '' : ` (${state.detail})`;
    say(`${check.process} ${check.name}: ${from} → ${state.status ?? 'down'}${detail}`);
    if (stopping || !monitor.allOk()) return;
    if (everReady) {
      say('the Pod is ready again');
      return;
    }
    everReady = true;
    const { host, port } = pod.endpoints.dns;
    say(`the Pod is ready: its DNS (dnsmasq-cache) answers on ${host}:${port}. Try:`);
    output.block([
      ...formatSuggestions(suggestions),
      `  curl ${pod.endpoints.readinessUrl}    curl ${pod.endpoints.sidecarMetricsUrl}`,
    ]);
    const edit = config.clusterDir !== null ? `Edit ${shown(config.clusterDir)}/*.yaml to change the cluster; ` : '';
    say(`${edit}Ctrl-C stops everything.`);
    if (config.clusterDir !== null) {
      say(freshAnswersHint({ domain: pod.endpoints.domain, kubeDns: pod.endpoints.kubeDns }));
    }
  };
  const monitor = startReadinessMonitor({ checks, intervalMs: config.statusIntervalMs, onChange });

  let failed = false;
  let stopped: Promise<number> | null = null;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const stop = (reason: string): Promise<number> => {
    stopped ??= (async () => {
      stopping = true;
      const running = podProcesses.filter((p) => p.running);
      if (running.length > 0) say(`${reason}: stopping ${running.map((p) => p.name).join(', ')} (SIGTERM)`);
      for (const child of running) child.signal('SIGTERM');
      const exits = await Promise.all(podProcesses.map((p) => ended(p, config.stopTimeoutMs, output)));
      monitor.stop();
      let clean = !failed;
      podProcesses.forEach((p, i) => {
        const exit = exits[i]!;
        if (!stoppedCleanly(exit)) clean = false;
        say(`${p.name} stopped (${describeExit(exit)})`);
      });
      if (apiserver) {
        apiserver.process.signal('SIGTERM');
        const exit = await ended(apiserver.process, config.stopTimeoutMs, output);
        if (!stoppedCleanly(exit)) clean = false;
        say(`apiserver-sim stopped (${describeExit(exit)})`);
      }
      const code = clean ? 0 : 1;
      say(clean ? 'all stopped' : 'stopped after a failure');
      finish(code);
      return code;
    })();
    return stopped;
  };

  for (const child of processes) {
    void child.exited.then((exit) => {
      if (stopping) return;
      failed = true;
      say(`${child.name} exited unexpectedly (${describeExit(exit)})`, 'error');
      if (child.recentLines().some((line) => /EADDRINUSE|address (already )?in use/i.test(line))) {
        say('a port is taken: stop what uses it, or try --port-offset=20000 or --any-ports', 'error');
      }
      void stop(`${child.name} ended`);
    });
  }

  return {
    pod,
    processes,
    apiserverUrl: apiserver?.url ?? null,
    done,
    stop,
    kill() {
      for (const child of processes) child.signal('SIGKILL');
    },
  };
}
