# syntax=docker/dockerfile:1
# The nexus-bench image that the Kubernetes manifests run (`nexus-bench k8s render --image`):
# a release build on the Rust image, copied into Debian slim with CA certificates and a non-root
# user (uid/gid 10001, the ones the rendered pods run as).
#
#   docker build -t registry.example/nexus-bench:0.1.0 .
#   docker run --rm registry.example/nexus-bench:0.1.0 validate /etc/nexus-bench/scenarios/smoke.toml
#
# The shipped scenarios are included under /etc/nexus-bench/scenarios for trying the image;
# `k8s render` mounts the scenario of a run (and its data files) from a ConfigMap instead.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the build folder between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin nexus-bench \
    && install -m 0755 target/release/nexus-bench /usr/local/bin/nexus-bench

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# CA certificates: https:// targets are verified against the platform roots.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 nexus \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/nexus-bench \
        --shell /usr/sbin/nologin nexus \
    && install -d -o 10001 -g 10001 /var/lib/nexus-bench
COPY --from=build /usr/local/bin/nexus-bench /usr/local/bin/nexus-bench
COPY scenarios /etc/nexus-bench/scenarios
# Numeric, so Kubernetes can check `runAsNonRoot` without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/nexus-bench
ENTRYPOINT ["nexus-bench"]
CMD ["--help"]
