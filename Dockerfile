# syntax=docker/dockerfile:1
# The GridWatch service image: locked dependencies, the rule kernel compiled at build
# time, a non-root user, a healthcheck. docker-compose.yml builds and runs it.
# deploy/image-build-check performs these build and start steps without a container
# engine, against a read-only copy of the source (CI runs it).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment in /opt/gridwatch with the locked packages --------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY deploy/requirements.lock /src/deploy/requirements.lock
RUN python -m venv /opt/gridwatch \
 && /opt/gridwatch/bin/pip install --no-deps -r /src/deploy/requirements.lock
COPY pyproject.toml README.md /src/
COPY alerts /src/alerts
COPY api /src/api
COPY gridwatch /src/gridwatch
COPY ingest /src/ingest
COPY sensors /src/sensors
COPY simulators /src/simulators
COPY store /src/store
COPY topology /src/topology
# GridWatch itself, built with the locked setuptools; pip check fails when the lock
# misses a dependency of pyproject.toml (deploy/update-lock regenerates it).
RUN /opt/gridwatch/bin/pip install --no-deps --no-build-isolation /src \
 && /opt/gridwatch/bin/pip check

# --- runtime --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# openssl: the stack's one-shot certificate step (deploy/mosquitto/make_certs.sh) runs
# from this image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/gridwatch --create-home gridwatch
COPY --from=build /opt/gridwatch /opt/gridwatch
COPY deploy/mosquitto/make_certs.sh deploy/mosquitto/make_credentials.py /opt/gridwatch/deploy/mosquitto/
ENV PATH=/opt/gridwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/opt/gridwatch/numba-cache \
    GRIDWATCH_DATA_DIR=/var/lib/gridwatch
# The rule kernel, compiled now into NUMBA_CACHE_DIR: a start loads it in about a second.
# Numba wants that directory writable even to read it, so the service user owns it.
RUN mkdir -p "$NUMBA_CACHE_DIR" \
 && python -c "from alerts.rules.kernel import warm_up; warm_up()" \
 && chown -R gridwatch:gridwatch "$NUMBA_CACHE_DIR" \
 && ln -s "$(python -c 'from topology.load import SAMPLE_SITE; print(SAMPLE_SITE)')" /opt/gridwatch/sample-site.yaml
USER gridwatch
WORKDIR /var/lib/gridwatch
VOLUME /var/lib/gridwatch
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/live', timeout=4)"]
ENTRYPOINT ["gridwatch"]
# Beyond loopback the service needs users or GRIDWATCH_ADMIN_TOKEN (compose: a secret).
CMD ["run", "--host", "0.0.0.0", "--port", "8000", "--no-console"]
