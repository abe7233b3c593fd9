# syntax=docker/dockerfile:1
#
# Orchard: Jamf Pro webhooks in, a Redis stream out.
#
#   docker build -t orchard .
#   docker run --rm -p 9202:9202 -e REDIS_URL=redis://… -e ORCHARD_WEBHOOK_SECRETS=… orchard
#   (or docker-compose.yml, which runs Redis and a TLS proxy beside it: docs/docker-and-systemd.md)
#
# The intake routes listen on PORT (9202); /healthz, /readyz, /metrics and /status on the admin port
# ORCHARD_ADMIN_PORT (9203), bound to all of the container's addresses so a probe or Prometheus on the
# container network reaches it: publish 9202 (behind a TLS proxy), never 9203.
#
# The build stage installs everything, compiles src/ to dist/ (npm run build: tsc, which also
# type-checks, then esbuild bundles the CLI into dist/bundle/, which bin/orchard.js runs) and drops
# the dev dependencies (TypeScript, tsx, the test tools). The runtime stage
# copies dist/, the schemas dist/ reads at start-up and the production node_modules, and runs the
# compiled JavaScript: no TypeScript and no transpiler in the image.
#
# The image has no redis-server: set REDIS_URL. (Without it Orchard tries to start an embedded
# redis-server from PATH and exits with "redis-server is not on PATH".)

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the project's own postinstall builds dist/, and the sources are not here yet
# (the build runs below); no production dependency has an install script.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin/ bin/
COPY src/ src/
COPY schemas/ schemas/
COPY scripts/esm-require-banner.js scripts/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ORCHARD_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=9202 \
    ORCHARD_ADMIN_PORT=9203 \
    ORCHARD_ADMIN_HOST=0.0.0.0
RUN groupadd --system --gid 10001 orchard \
 && useradd --system --uid 10001 --gid orchard --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin orchard \
 && mkdir /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
WORKDIR /app
# Owned by root and not writable by the service user. The code finds package.json and schemas/ by
# walking up from dist/ (src/package-root.ts), so they sit above it as in the repository.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/bin/ bin/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/schemas/ schemas/
USER 10001:10001
VOLUME ["/data"]
EXPOSE 9202
# Readiness: 200 while Redis answers or the local spool has room, 503 when Orchard cannot store an
# event durably (docs/operations.md). On the admin port, plain HTTP even with TLS on the main port; with
# ORCHARD_ADMIN_PORT unset, on PORT (then keep TLS off it, or this probe fails).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ORCHARD_ADMIN_PORT || process.env.PORT || 9202) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/orchard.js"]
CMD ["serve"]
