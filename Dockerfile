# syntax=docker/dockerfile:1
#
# Maestro's image: the one `maestro` binary, static, on a distroless base,
# running as a non-root user. docker-compose.yml picks the subcommand
# (`maestro worker`, `maestro api`); the default is the worker.
#
#   docker build -t maestro:local .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 maestro:local
#   docker run --rm maestro:local doctor
#
# The final image has no shell and no tools: command nodes can only run
# programs you add, e.g. FROM maestro:local + COPY --from=... your tools.

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
RUN mkdir -p /data/artifacts /data/work

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /data /data
# Listen on all interfaces inside the container (the defaults are loopback),
# log JSON, keep artifacts on /data.
ENV MAESTRO_METRICS_ADDR=0.0.0.0:9090 \
    MAESTRO_API_ADDR=0.0.0.0:8080 \
    MAESTRO_ARTIFACT_DIR=/data/artifacts \
    MAESTRO_LOG_FORMAT=json
WORKDIR /data/work
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/maestro"]
CMD ["worker"]
