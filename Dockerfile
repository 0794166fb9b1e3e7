# glmtune image. Build: docker build -t glmtune .            (CPU: OpenBLAS kernels)
#                       docker build --build-arg FLAVOR=gpu -t glmtune:gpu .   (CUDA + @tensorflow/tfjs-node-gpu)
# Run:   docker run -p 8080:8080 -v glmtune-data:/data glmtune
ARG FLAVOR=cpu

# ---- the dashboard (ui/ → ui/dist), built with the dev dependencies, which the runtime leaves out ----
FROM node:20-bookworm-slim AS ui
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY ui ./ui
RUN npm run build

# ---- dependencies (CPU): node modules with the native OpenBLAS kernels built --------------------
# --ignore-scripts skips the project's own `prepare` (the dashboard build, done above: it needs the dev
# dependencies); `npm rebuild` then runs the dependencies' install scripts (the OpenBLAS addon's build).
FROM node:20-bookworm-slim AS deps-cpu
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ pkg-config libopenblas-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild

# ---- runtime (CPU) -------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime-cpu
RUN apt-get update && apt-get install -y --no-install-recommends libopenblas0-pthread \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps-cpu /app/node_modules ./node_modules
COPY --from=deps-cpu /app/native ./native

# ---- runtime (GPU): CUDA 11.8 + cuDNN 8 for libtensorflow 2.9 (tfjs-node-gpu 4.22) ---------------
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS runtime-gpu
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg python3 make g++ \
    && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
    && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/* \
    && groupadd -g 1000 node && useradd -u 1000 -g node -m node
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
# The GPU backend downloads libtensorflow at install time; it is optional and loaded at run time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild && npm install --no-save @tensorflow/tfjs-node-gpu@4.22.0 \
    && apt-get purge -y make g++ && apt-get autoremove -y

# ---- final ---------------------------------------------------------------------------------------
FROM runtime-${FLAVOR}
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
COPY --from=ui /app/ui/dist ./ui/dist
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data MODELS_DIR=/models
RUN mkdir -p /data /models && chown node:node /data /models
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/server.ts"]
