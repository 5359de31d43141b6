# Renders kube-dns.yaml.base, as in the article: replace $DNS_SERVER_IP and $DNS_DOMAIN below with your
# kubelet's clusterDNS and clusterDomain (e.g. 10.96.0.10 and cluster.local), then run
#   sed -f transforms2sed.sed kube-dns.yaml.base > kube-dns.yaml
# or let ./generate.sh do both. A value containing "/" (a CIDR) must be written with "\/" (10.96.0.0\/12).
s/__PILLAR__DNS__SERVER__/$DNS_SERVER_IP/g
s/__PILLAR__DNS__DOMAIN__/$DNS_DOMAIN/g
s/__PILLAR__CLUSTER_CIDR__/$SERVICE_CLUSTER_IP_RANGE/g
s/__MACHINE_GENERATED_WARNING__/Warning: This is a file generated from the base underscore template file: __SOURCE_FILENAME__/g
s/__SOURCE_FILENAME__/kube-dns.yaml.base/g
