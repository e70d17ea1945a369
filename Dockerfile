# One image for the gateway, the county payment service and the HIS simulator; docker-compose.yml
# gives each its command. Build: docker build -t onebill-gateway:local .
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so that a change to the sources does not reinstall them.
# - Dev dependencies are installed too. At run time scripts/register-paths.js needs tsconfig-paths to
#   resolve @onebill/* under dist/, and `npm run build` needs typescript.
# - --ignore-scripts: nothing here needs a dependency's install script. esbuild's postinstall only
#   checks its binary (tsx is not used at run time), and protobufjs's only prints a warning.
#   cpu-features and ssh2 (via testcontainers, for the tests) would try node-gyp builds on an image
#   that has no compiler. The project itself has no install script: scripts/ensure-deps.js runs
#   only from `npm start` / `npm test`, which the image does not use.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --include=dev --ignore-scripts --no-audit --no-fund

COPY . .
RUN npm run build \
  && mkdir -p .data \
  && chown node:node .data

ENV NODE_ENV=production
USER node

# 3000: gateway (HTTP API, console, /metrics, /health); 3100: county payment service
EXPOSE 3000 3100

# The gateway. Exec form: node is PID 1 and receives SIGTERM itself for the clean stop.
CMD ["node", "-r", "./scripts/register-paths.js", "dist/apps/gateway/src/main.js"]
