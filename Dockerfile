# Segmentti service image. Migrations are an explicit step, run before the new version starts:
#   docker run --rm -e SEGMENTTI_DATABASE_URL=… segmentti alembic upgrade head
# then start the service (the default command):
#   docker run -p 8000:8000 -e SEGMENTTI_DATABASE_URL=… -e SEGMENTTI_JWT_SECRET=… \
#     -e SEGMENTTI_DATA_KEY=… -e SEGMENTTI_INDEX_KEY=… segmentti
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system segmentti && useradd --system --gid segmentti --home-dir /srv segmentti

WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && chown -R segmentti:segmentti /srv

USER segmentti
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
