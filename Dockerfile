# The web application's front-end packages, exactly as package-lock.json says (no install
# scripts: none of them needs one). Only the runtime ones (not axe-core, a test tool).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
# The same lock as `make run` and CI: exact versions with hashes, nothing re-resolved.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never PATH=/opt/venv/bin:$PATH
COPY pyproject.toml uv.lock README.md ./
COPY api api
COPY optimiser optimiser
COPY migrations migrations
COPY clients clients
COPY web web
RUN uv sync --frozen --no-editable --no-cache
COPY --from=assets /assets/node_modules /app/node_modules
ENV CAPITAL_NODE_MODULES=/app/node_modules
EXPOSE 8000
CMD ["capital", "serve", "--host", "0.0.0.0", "--port", "8000"]
