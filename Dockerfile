# runmesh relay with the web app. Multi-stage: build everything with the Rust toolchain and
# Node (for binaryen's wasm-opt), then ship the relay binary and dist/ on a slim base.
#   docker build -t runmesh .
#   docker run -p 3030:3030 -v runmesh-data:/data -e JWT_SECRET=… runmesh
# Not built or run here (no Docker daemon on the development machine); see README.

FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/setup.sh \
 && bash scripts/build-web.sh \
 && cargo build --release -p runmesh-relay

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --uid 10001 runmesh && mkdir -p /data && chown runmesh /data
COPY --from=build /src/target/release/runmesh-relay /usr/local/bin/runmesh-relay
COPY --from=build /src/dist /srv/runmesh/dist
USER runmesh
ENV LISTEN=0.0.0.0:3030 DATA_DIR=/data WEB_DIST=/srv/runmesh/dist
EXPOSE 3030
VOLUME /data
# The relay probes itself (`health` exits 0 when /health/ready answers 200): the slim
# image has no HTTP client, and its /bin/sh (dash) has no /dev/tcp.
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/runmesh-relay", "health", "--timeout-secs", "4", "http://127.0.0.1:3030"]
ENTRYPOINT ["/usr/local/bin/runmesh-relay"]
