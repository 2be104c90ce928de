# extrepo container image: `docker build -t extrepo .` then
#   docker run -p 12400:12400 -v extrepo-data:/var/lib/extrepo extrepo
# See docs/deployment.md ("Running the server") for the settings and the exit codes.

# Build stage: compiles better-sqlite3 and extrepo's own addons, malloc_trim and sendfile (binding.gyp; node-gyp needs
# python3, make and g++) and the TypeScript (npm ci runs `npm run build` through the prepare script),
# then drops the dev dependencies.
FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json binding.gyp ./
COPY src ./src
COPY spec ./spec
RUN npm ci && npm prune --omit=dev && npm cache clean --force

# Run stage: the compiled server and its production dependencies, run as the image's non-root
# `node` user. No compiler, no TypeScript loader.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    EXTREPO_HOST=0.0.0.0 \
    EXTREPO_PORT=12400 \
    EXTREPO_DATA_DIR=/var/lib/extrepo
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/malloc_trim.node /app/build/Release/sendfile.node ./build/Release/
COPY --from=build /app/spec ./spec
RUN mkdir -p /var/lib/extrepo && chown node:node /var/lib/extrepo
USER node
VOLUME ["/var/lib/extrepo"]
EXPOSE 12400
# Follows EXTREPO_PORT and EXTREPO_TLS_* (no curl needed in the image).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["node", "dist/tools/healthcheck.js"]
# SIGTERM: stop accepting, finish requests in flight (EXTREPO_SHUTDOWN_GRACE_MS, 30 s), exit 0.
# Give `docker stop` more than that: docker stop -t 45.
STOPSIGNAL SIGTERM
CMD ["node", "--min-semi-space-size=8", "dist/main.js"]
