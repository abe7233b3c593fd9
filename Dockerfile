# syntax=docker/dockerfile:1
#
# Orchard: Jamf Pro webhooks in, a Redis stream out.
#
#   docker build -t orchard .
#   docker run --rm -p 9202:9202 -e REDIS_URL=redis://… -e ORCHARD_WEBHOOK_SECRETS=… orchard
#   (or docker-compose.yml, which runs Redis beside it)
#
# Orchard runs its TypeScript sources through tsx, a runtime dependency, so there is no build output:
# the build stage installs, type-checks and drops the dev dependencies, and the runtime stage copies
# the sources and the production node_modules.
#
# The image has no redis-server: set REDIS_URL. (Without it Orchard tries to start an embedded
# redis-server from PATH and exits with "redis-server is not on PATH".)

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin/ bin/
COPY src/ src/
COPY schemas/ schemas/
RUN npx tsc --noEmit \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# TSX_DISABLE_CACHE: tsx otherwise keeps a transpile cache under /tmp, and crashes at start-up when it
# cannot create it (a read-only root filesystem without a tmpfs on /tmp).
ENV NODE_ENV=production \
    ORCHARD_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=9202 \
    TSX_DISABLE_CACHE=1
RUN groupadd --system --gid 10001 orchard \
 && useradd --system --uid 10001 --gid orchard --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin orchard \
 && mkdir /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
WORKDIR /app
# Owned by root and not writable by the service user; tsconfig.json tells tsx how to transpile
# exactly as in development.
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/bin/ bin/
COPY --from=build /app/src/ src/
COPY --from=build /app/schemas/ schemas/
USER 10001:10001
VOLUME ["/data"]
EXPOSE 9202
# Liveness, no I/O. /healthz moves to ORCHARD_ADMIN_PORT when that is set; with TLS on the main port
# (ORCHARD_TLS_CERT_FILE), set ORCHARD_ADMIN_PORT so this probe stays plain HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const port = process.env.ORCHARD_ADMIN_PORT || process.env.PORT || 9202; fetch('http://127.0.0.1:' + port + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/orchard.js"]
CMD ["serve"]
