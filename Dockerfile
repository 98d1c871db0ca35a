# Segmentti service image: the package installed from its wheel, run as a non-root user.
#   docker build -t segmentti .
# Migrations are their own step, run once before a new version starts:
#   docker run --rm -e SEGMENTTI_DATABASE_URL=… segmentti alembic upgrade head
# then every instance (same keys everywhere; README, "Operations"):
#   docker run -p 8000:8000 -e SEGMENTTI_DATABASE_URL=… -e SEGMENTTI_JWT_SECRET=… \
#     -e SEGMENTTI_DATA_KEY=… -e SEGMENTTI_INDEX_KEY=… segmentti

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY app ./app
# Wheels of the service and of everything it needs; the image installs them offline.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SEGMENTTI_HOST=0.0.0.0 \
    SEGMENTTI_PORT=8000 \
    SEGMENTTI_MIGRATIONS_DIR=/srv/migrations
RUN groupadd --system --gid 10001 segmentti \
    && useradd --system --uid 10001 --gid segmentti --home-dir /srv segmentti
WORKDIR /srv
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-index --find-links /tmp/wheels /tmp/wheels/segmentti-*.whl \
    && rm -rf /tmp/wheels
COPY alembic.ini ./
COPY migrations ./migrations
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["segmentti", "serve"]
