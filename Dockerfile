# syntax=docker/dockerfile:1
# One image with the three programs of the kube-dns Pod (see manifests/README.md):
#   /app/kubedns/bin/kube-dns             run with /nodejs/bin/node
#   /app/dnsmasq-cache/bin/dnsmasq-cache  run with /app/node-net-bind (Node allowed to bind port 53)
#   /app/sidecar/bin/sidecar              run with /nodejs/bin/node
# Build: docker build -t ghcr.io/kube-dns-ts/kube-dns-ts:0.1.0 .

ARG BUILD_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

# The runtime's own Node binary, to be given a file capability in the build stage.
FROM ${RUNTIME_IMAGE} AS runtime-node

FROM ${BUILD_IMAGE} AS build
ENV CI=true
# python3, make and g++: node-gyp compiles daemon-kit's batched UDP I/O addon (packages/daemon-kit/native) during
# `pnpm install`, against this Node's own headers (/usr/local/include/node); the runtime image gets only the .node.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libcap2-bin python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# pnpm at the version pinned by package.json "packageManager" (npm rather than corepack, whose bundled
# signing keys lag behind pnpm releases).
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN npm install --global --no-fund --no-audit \
  "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")"
# Dependencies from the lockfile alone: this layer is rebuilt only when the lockfile changes.
RUN pnpm fetch
COPY . .
# Also runs daemon-kit's install script, which builds native/build/Release/udp_batch.node (the build fails here if
# it could not: an image without batched UDP I/O would be silently slower).
RUN pnpm install --offline --frozen-lockfile \
  && test -f packages/daemon-kit/native/build/Release/udp_batch.node
RUN pnpm exec tsc -b packages/kubedns packages/dnsmasq-cache packages/sidecar
# Each program with its production dependencies only (workspace packages copied in), then only what runs:
# package.json (the programs read their version from it), dist, bin and node_modules.
RUN pnpm --filter @kube-dns/kubedns --prod deploy --legacy /app/kubedns \
  && pnpm --filter @kube-dns/dnsmasq-cache --prod deploy --legacy /app/dnsmasq-cache \
  && pnpm --filter @kube-dns/sidecar --prod deploy --legacy /app/sidecar \
  && find /app/kubedns /app/dnsmasq-cache /app/sidecar -mindepth 1 -maxdepth 1 \
    ! -name package.json ! -name dist ! -name bin ! -name node_modules -exec rm -rf {} + \
  && for kit in /app/*/node_modules/.pnpm/@kube-dns+daemon-kit*/node_modules/@kube-dns/daemon-kit; do \
    test -f "$kit/native/build/Release/udp_batch.node" \
    && find "$kit/native" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} + \
    && find "$kit/native/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + \
    && find "$kit/native/build/Release" -mindepth 1 -maxdepth 1 ! -name udp_batch.node -exec rm -rf {} + \
    || exit 1; done
# Port 53 as a non-root user: the containers run as uid 1001, and the kernel only hands a capability to a
# non-root process through a file capability on the program it executes. Only this copy of Node carries it,
# and only the dnsmasq-cache container runs it (its securityContext adds NET_BIND_SERVICE, which the file
# capability needs; the other containers drop ALL and run the plain /nodejs/bin/node).
COPY --from=runtime-node /nodejs/bin/node /app/node-net-bind
RUN setcap cap_net_bind_service=+ep /app/node-net-bind

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="kube-dns-ts" \
  org.opencontainers.image.description="Cluster DNS for Kubernetes: kube-dns, dnsmasq-cache and sidecar" \
  org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /app /app
ENV NODE_ENV=production
WORKDIR /app
# Numeric, so that the kubelet can check runAsNonRoot; the manifests set the same uid and gid.
USER 1001:1001
# dnsmasq-cache :53, kube-dns :10053, kube-dns readiness :8081 and metrics :10055, sidecar :10054.
EXPOSE 53/udp 53/tcp 10053/udp 10053/tcp 8081/tcp 10054/tcp 10055/tcp
# All three drain on SIGTERM (kube-dns keeps answering for its grace period while readiness is 503).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["/app/kubedns/bin/kube-dns", "--help"]
