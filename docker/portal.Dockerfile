# The portal, its Celery workers and beat, and the migration job (one image, different commands).
#   buildah bud -f docker/portal.Dockerfile -t dsw-portal .      (or docker build; context: the repository)
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}
# Set only by docker/build.sh behind a TLS-inspecting proxy (the host's CA bundle, mounted for the build).
ARG PIP_CERT
# git: the workers render project templates into a git repository (projects/templates.py).
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates git \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 dsw && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin dsw
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app:/app/platform DJANGO_SETTINGS_MODULE=portal.settings PLATFORM_DATA_DIR=/var/lib/dsw
WORKDIR /app
# The dependencies first, from pyproject.toml alone: a code change then rebuilds only the layers below it (seconds
# with buildah's/docker's layer cache), not this one (minutes).
COPY pyproject.toml README.md ./
RUN python3 -m venv /opt/venv && pip install --upgrade pip \
    && python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt \
    && (pip uninstall -y rfc3987-syntax || true)
COPY manage.py ./
COPY platform platform
COPY workspaces workspaces
COPY images images
COPY spawner spawner
COPY costs costs
COPY buckets buckets
COPY projects projects
COPY observability observability
COPY sharing sharing
COPY builds builds
COPY tracking tracking
# The code readable by the portal's uid whatever modes the checkout had (a file made under umask 077 is 0600 there).
RUN chmod -R a+rX /app && pip install --no-deps . \
    # Static files are served by whitenoise from the image (production mode does not look in the apps).
    && PLATFORM_MODE=embedded DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0 \
    # Embedded mode also made its secrets (hub token, metrics token, …) and private (0700, root) folders in the data
    # directory: keep only the static files, readable by the portal's uid (10001), and nothing secret in the image.
    && find /var/lib/dsw -mindepth 1 -maxdepth 1 ! -name static -exec rm -rf {} + \
    && chmod -R a+rX /var/lib/dsw \
    && mkdir -p /var/lib/dsw/mail && chown -R 10001:10001 /var/lib/dsw/mail \
    && (find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true)
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4"]
