# The hub: one image for `hub serve` and `hub worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HUB_VAR_DIR=/data \
    HUB_HOST=0.0.0.0 \
    HUB_PORT=8000

WORKDIR /app
RUN useradd --system --create-home --home-dir /home/hub hub \
    && mkdir -p /data && chown hub:hub /data

# dependencies first, so code changes do not reinstall them
COPY pyproject.toml README.md ./
RUN mkdir -p hub analytics dashboards && touch hub/__init__.py analytics/__init__.py \
    dashboards/__init__.py && pip install . && pip uninstall -y hub

COPY hub ./hub
COPY analytics ./analytics
COPY dashboards ./dashboards
COPY sql ./sql
COPY web ./web
# editable: the code finds sql/ and web/ next to the package, as in a checkout
RUN pip install --no-deps -e .

USER hub
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["hub", "serve"]
