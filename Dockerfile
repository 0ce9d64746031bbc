# kycflow's container image: one image holding the four commands (worker,
# webhookbridge, starter, mangopaysim); docker-compose.yml picks one with each
# service's `command`. Build it with `docker compose build` (BuildKit, the
# default builder since Docker Engine 23, is needed for the cache mounts).

# ---- build: static binaries ------------------------------------------------
# The build stage runs on the builder's own platform and cross-compiles for
# the target one, so multi-platform builds need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
# One `go build` for the four commands: they share the compile cache.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./webhookbridge ./starter ./mangopaysim

# ---- runtime -----------------------------------------------------------------
# Alpine rather than distroless: the compose health checks run inside the
# container and need a probe (BusyBox wget) that distroless/static does not
# have, and kycflow adds no HTTP-probe binary of its own. The binaries are
# static, so the image is Alpine's base (~8 MB) plus CA certificates (needed
# for Mangopay's HTTPS API). It runs as an unprivileged user with no shell
# login and no home directory.
FROM alpine:3.23
RUN apk add --no-cache ca-certificates \
    && addgroup -S -g 10001 kycflow \
    && adduser -S -D -H -u 10001 -G kycflow -s /sbin/nologin kycflow
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# Containers log JSON (logsetup also picks JSON when stderr is not a terminal).
ENV LOG_FORMAT=json
# 8080 bridge public, 8081 bridge internal, 8090 simulator, 9091 worker health and metrics.
EXPOSE 8080 8081 8090 9091
CMD ["worker"]
