/**
 * kube-dns flags for an instance a test starts against a kubeconfig file: loopback, port 0 everywhere, a dead
 * upstream (127.0.0.1:9, the discard port), a short initial-sync timeout. `extra` come last and replace the
 * default of any flag they name (`--nameservers=…`).
 */
export function kubeDnsTestFlags(kubecfg: string, extra: readonly string[] = []): string[] {
  const defaults = [
    `--kubecfg-file=${kubecfg}`,
    '--dns-bind-address=127.0.0.1',
    '--dns-port=0',
    '--healthz-bind-address=127.0.0.1',
    '--healthz-port=0',
    '--nameservers=127.0.0.1:9',
    '--initial-sync-timeout=10s',
  ];
  const flagName = (arg: string): string => arg.split('=', 1)[0]!;
  const overridden = new Set(extra.map(flagName));
  return [...defaults.filter((arg) => !overridden.has(flagName(arg))), ...extra];
}
