# The hardened default workspace image: JupyterLab as the unprivileged user jovyan (uid 1000, gid 100),
# no setuid/setgid binaries, no sudo, tini as PID 1. The spawner runs it with all capabilities dropped,
# no privilege escalation and the RuntimeDefault seccomp profile. Catalog images can build FROM it.
#   buildah bud -f docker/singleuser.Dockerfile -t dsw-singleuser .
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}
# Set only by docker/build.sh behind a TLS-inspecting proxy (the host's CA bundle, mounted for the build).
ARG PIP_CERT
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --gid 100 --create-home --home-dir /home/jovyan --shell /bin/bash jovyan \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir "jupyterlab>=4.4,<5" "jupyterhub>=6.1,<7" "jupyter-server>=2.15,<3" \
    && (/opt/venv/bin/pip uninstall -y rfc3987-syntax || true) \
    && (find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true)
# The platform's lab configuration, where the launch spec's JUPYTER_CONFIG_PATH points image workspaces
# (spawner/spec.py CONTAINER_LAB_DIR; the local spawner mounts the same folder there instead).
COPY workspaces/lab /opt/dsw/lab
ENV PATH=/opt/venv/bin:$PATH HOME=/home/jovyan SHELL=/bin/bash PYTHONUNBUFFERED=1
USER 1000:100
WORKDIR /home/jovyan
EXPOSE 8888
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
