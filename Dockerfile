# Loopline's image: one image for every process (docker-compose.yml), chosen by the command:
#   worker <role ...>   orders | acknowledge | peoplevox | shopify | inventory (workers/main.ts)
#   http                webhooks, ops dashboard and API, metrics
# Multi-stage: the build stage compiles TypeScript with the dev dependencies; the runtime stage has only
# production dependencies, the compiled code and the files it reads at run time, and runs as `node`.
# The base image is pinned to the Node release the project is tested on (package.json engines: Node 20).

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files the compiled code reads beside itself (tsc emits only .js): the ops dashboard's assets
# (src/http/ops.ts) and the default config (src/config/load.ts; compose mounts the production one instead).
COPY --from=build /app/src/http/dashboard ./dist/src/http/dashboard
COPY --from=build /app/src/config/loopline.yaml ./dist/src/config/loopline.yaml
# The image's own unprivileged user (uid 1000); nothing under /app is writable by it.
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "dist/workers/main.js"]
CMD ["worker"]
