# chconform in a container: a small, non-root image whose entrypoint is `chconform`.
#   docker build -t chconform .
#   docker run --rm -v "$PWD:/repo" chconform check        # the embedded engine: no Docker inside needed
# Build stage: only the wheel of this package is built here; the runtime stage installs it with its pinned deps.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin chconform
USER 10001
WORKDIR /repo
ENTRYPOINT ["chconform"]
CMD ["--help"]
