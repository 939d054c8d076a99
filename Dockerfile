FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY optimiser optimiser
COPY migrations migrations
COPY clients clients
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["capital", "serve", "--host", "0.0.0.0", "--port", "8000"]
