# Loopline worker / HTTP server image. One image, two roles (see docker-compose.yml):
#   docker run loopline worker   |   docker run loopline http
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY src/config/loopline.yaml ./dist/src/config/loopline.yaml
USER node
ENTRYPOINT ["node", "dist/workers/main.js"]
CMD ["worker"]
