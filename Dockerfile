# syntax=docker/dockerfile:1
# The platform's images, one per dependency group (build target):
#   api  gateway, features: the web stack and the Postgres/Redis clients (infra/compose/requirements-api.txt)
#   ml   scoring, explainer and drift workers, monitoring, the MLflow server, bootstrap: every dependency in
#        pyproject.toml (LightGBM, SHAP, MLflow, Evidently, ...)
# Builders install the pinned wheels (constraints.txt) into /opt/venv; runtimes copy that venv and the
# source, and run as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY infra/compose/requirements-api.txt infra/compose/

FROM builder AS build-api
RUN pip install -c constraints.txt -r infra/compose/requirements-api.txt
COPY services services
# Editable: the `credit` entry point and a package that finds infra/migrations beside it, as in the repo.
RUN pip install --no-deps -e .

FROM builder AS build-ml
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > requirements-ml.txt \
 && pip install -c constraints.txt -r requirements-ml.txt
COPY services services
RUN pip install --no-deps -e .

FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: LightGBM's OpenMP runtime (ml); it is small, so both images share this layer. /var/lib/mlflow is
# the artifact volume's mount point: owned by the app user, so a new named volume is too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 credit \
 && useradd --system --uid 10001 --gid credit --create-home --home-dir /home/credit credit \
 && install -d -o credit -g credit /var/lib/mlflow
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY services services
COPY infra/migrations infra/migrations
COPY infra/mlflow infra/mlflow
USER credit

FROM runtime AS api
COPY --from=build-api /opt/venv /opt/venv

FROM runtime AS ml
COPY --from=build-ml /opt/venv /opt/venv
