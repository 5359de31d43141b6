/**
 * kube-dns flags for an instance a test starts against a kubeconfig file: loopback, port 0 everywhere, a dead
 * upstream (127.0.0.1:9, the discard port), a short initial-sync timeout. `extra` come last.
 */
export function kubeDnsTestFlags(kubecfg: string, extra: readonly string[] = []): string[] {
  return [
    `--kubecfg-file=${kubecfg}`,
    '--dns-bind-address=127.0.0.1',
    '--dns-port=0',
    '--healthz-bind-address=127.0.0.1',
    '--healthz-port=0',
    '--nameservers=127.0.0.1:9',
    '--initial-sync-timeout=10s',
    ...extra,
  ];
}
