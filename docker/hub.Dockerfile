# JupyterHub with this platform's spawners (spawner/) and configurable-http-proxy (the proxy pod runs it too).
#   buildah bud -f docker/hub.Dockerfile -t dsw-hub .
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}
# Set only by docker/build.sh behind a TLS-inspecting proxy (the host's CA bundle, mounted for the build).
ARG PIP_CERT
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 dsw && useradd --uid 10001 --gid 10001 --home-dir /srv/hub --no-create-home --shell /usr/sbin/nologin dsw
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app
WORKDIR /app
# Only the Django-free spawner package and the hub's config: the hub never imports the portal.
COPY spawner spawner
# Readable by the hub's uid whatever modes the checkout had (a file made under umask 077 is 0600 there).
RUN chmod -R a+rX /app && python3 -m venv /opt/venv && pip install --upgrade pip \
    && pip install "jupyterhub>=6.1,<7" "oauthenticator>=17,<18" "jupyterhub-kubespawner>=7.1,<8" "configurable-http-proxy>=0.4" \
    && (pip uninstall -y rfc3987-syntax || true) \
    && mkdir -p /srv/hub && chown 10001:10001 /srv/hub \
    && (find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true)
USER 10001:10001
WORKDIR /srv/hub
EXPOSE 8081
CMD ["python", "-m", "jupyterhub", "-f", "/app/spawner/jupyterhub_config.py"]
