# One image definition, two targets: `api` (no Keras) and `worker` (Keras with JAX, the default
# backend, built for CUDA, and TensorFlow for FITQ_KERAS_BACKEND=tensorflow). docker-compose.yml
# builds both.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api api
COPY broker broker
COPY worker worker
COPY models models
COPY migrations migrations
RUN useradd --create-home --uid 1000 fitq && mkdir -p /data && chown fitq /data
ENV FITQ_DATA_DIR=/data

FROM base AS api
RUN pip install .
USER fitq
EXPOSE 8000
# Migrations run before the API accepts requests; the worker never migrates.
CMD ["sh", "-c", "alembic upgrade head && exec uvicorn api.main:app --host 0.0.0.0 --port 8000 --proxy-headers"]

FROM base AS worker
# GPU builds of the backends; for CPU hosts build with
# --build-arg BACKEND_PACKAGES="jax[cpu]>=0.5 tensorflow-cpu>=2.18".
ARG BACKEND_PACKAGES="jax[cuda12]>=0.5 tensorflow[and-cuda]>=2.18"
RUN pip install . "keras>=3.6" "scikit-learn>=1.4" "numba>=0.61" "cachetools>=5.3" ${BACKEND_PACKAGES}
USER fitq
CMD ["fitq", "worker"]
