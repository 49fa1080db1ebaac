# syntax=docker/dockerfile:1
#
# Maestro's image: the one `maestro` binary, static, on a slim Debian base
# with git (workspace runs check out, commit and push with the git CLI) and
# nothing else a pipeline could use, running as a non-root user.
# docker-compose.yml picks the subcommand (`maestro worker`, `maestro api`);
# the default is the worker.
#
#   docker build -t maestro:local .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 maestro:local
#   docker run --rm maestro:local doctor
#
# The final image has git, ssh (for ssh:// remotes) and the CA certificates,
# and the shell Debian needs: command nodes can only run programs the
# worker policy allows (MAESTRO_POLICY_COMMANDS), and you add your tools,
# e.g. FROM maestro:local + COPY --from=... your tools.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/maestro ./cmd/maestro
# Directories the non-root user owns: artifacts (a volume in compose) and
# the default working directory of command nodes.
RUN mkdir -p /data/artifacts /data/work /data/workspaces

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --home-dir /data --no-create-home nonroot
COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /data /data
# Listen on all interfaces inside the container (the defaults are loopback),
# log JSON, keep artifacts on /data.
ENV MAESTRO_METRICS_ADDR=0.0.0.0:9090 \
    MAESTRO_API_ADDR=0.0.0.0:8080 \
    MAESTRO_ARTIFACT_DIR=/data/artifacts \
    MAESTRO_WORKSPACE_DIR=/data/workspaces \
    MAESTRO_LOG_FORMAT=json
WORKDIR /data/work
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/maestro"]
CMD ["worker"]
