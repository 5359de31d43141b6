#!/bin/sh
# Renders kube-dns.yaml.base through transforms2sed.sed, the article's way: the sed file's variables get
# the cluster's values, then `sed -f`. Defaults are kubeadm's (kubelet clusterDNS 10.96.0.10, clusterDomain
# cluster.local, service CIDR 10.96.0.0/12); override them from the environment:
#   DNS_SERVER_IP=10.0.0.10 DNS_DOMAIN=corp.local ./generate.sh
# Usage: generate.sh [output file]   (default: kube-dns.yaml beside this script; "-" for stdout)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
DNS_SERVER_IP=${DNS_SERVER_IP:-10.96.0.10}
DNS_DOMAIN=${DNS_DOMAIN:-cluster.local}
SERVICE_CLUSTER_IP_RANGE=${SERVICE_CLUSTER_IP_RANGE:-10.96.0.0/12}
out=${1:-$here/kube-dns.yaml}

# Escapes a string for the replacement side of a sed s/// command.
sed_replacement() { printf '%s\n' "$1" | sed -e 's/[\\&/]/\\&/g'; }
# The values go into the sed script's replacements, and get there through a sed replacement: escape twice.
twice() { sed_replacement "$(sed_replacement "$1")"; }

script=$(mktemp)
trap 'rm -f "$script"' EXIT
sed -e 's/\$DNS_SERVER_IP/'"$(twice "$DNS_SERVER_IP")"'/g' \
  -e 's/\$DNS_DOMAIN/'"$(twice "$DNS_DOMAIN")"'/g' \
  -e 's/\$SERVICE_CLUSTER_IP_RANGE/'"$(twice "$SERVICE_CLUSTER_IP_RANGE")"'/g' \
  "$here/transforms2sed.sed" >"$script"

if [ "$out" = "-" ]; then
  sed -f "$script" "$here/kube-dns.yaml.base"
else
  sed -f "$script" "$here/kube-dns.yaml.base" >"$out"
fi
