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
RUN uv sync --frozen --no-editable --no-cache
EXPOSE 8000
CMD ["capital", "serve", "--host", "0.0.0.0", "--port", "8000"]
