"""A thin client for the OCI distribution HTTP API (docker-registry, Harbor, …).

The portal issues the registry's tokens itself, so the client is handed a callable that returns a
bearer token for a list of scopes instead of going through the 401 challenge dance.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

MANIFEST_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]
INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RegistryError(Exception):
    """The registry could not be reached or answered something unexpected."""


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    size_bytes: int
    labels: dict = field(default_factory=dict)


class RegistryClient:
    def __init__(self, base_url, token_for, *, timeout=15):
        self.base_url = base_url.rstrip("/")
        self.token_for = token_for
        self.timeout = timeout
        self.session = requests.Session()

    def _get(self, path_or_url, scopes, *, headers=None, method="GET"):
        url = urljoin(self.base_url + "/", path_or_url.lstrip("/")) if not path_or_url.startswith("http") else path_or_url
        headers = {"Authorization": f"Bearer {self.token_for(scopes)}", **(headers or {})}
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryError(f"registry unreachable at {self.base_url}: {exc}") from exc
        return response

    def _paged(self, path, scopes, key):
        """Follow the Link: <…>; rel="next" headers distribution uses for _catalog and tags/list."""
        url = path
        while url:
            response = self._get(url, scopes)
            if response.status_code == 404:
                return
            if response.status_code != 200:
                raise RegistryError(f"GET {url}: HTTP {response.status_code} {response.text[:200]}")
            yield from response.json().get(key) or []
            match = _NEXT_LINK.search(response.headers.get("Link", ""))
            url = match.group(1) if match else None

    def ping(self):
        try:
            return self._get("/v2/", []).status_code in (200, 401)
        except RegistryError:
            return False

    def repositories(self, *, page_size=100):
        """Every repository name, across pages."""
        return list(self._paged(f"/v2/_catalog?n={page_size}", ["registry:catalog:*"], "repositories"))

    def tags(self, repository, *, page_size=100):
        return list(self._paged(f"/v2/{repository}/tags/list?n={page_size}", [f"repository:{repository}:pull"], "tags"))

    def digest(self, repository, reference):
        """The digest `reference` (a tag) points at, from a HEAD request; None if it does not exist."""
        response = self._get(f"/v2/{repository}/manifests/{reference}", [f"repository:{repository}:pull"],
                             headers={"Accept": ", ".join(MANIFEST_TYPES)}, method="HEAD")
        if response.status_code == 404:
            return None
        if response.status_code != 200 or not response.headers.get("Docker-Content-Digest"):
            raise RegistryError(f"HEAD manifest {repository}:{reference}: HTTP {response.status_code}")
        return response.headers["Docker-Content-Digest"]

    def manifest(self, repository, reference):
        """The digest, size and OCI labels of `reference` (a tag or digest); None if it does not exist."""
        scopes = [f"repository:{repository}:pull"]
        response = self._get(f"/v2/{repository}/manifests/{reference}", scopes, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryError(f"manifest {repository}:{reference}: HTTP {response.status_code}")
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        body = response.json()
        media_type = body.get("mediaType") or media_type
        image = body
        if media_type in INDEX_TYPES:
            # Labels and size come from the first image of a multi-platform index (linux/amd64 first).
            entries = sorted(body.get("manifests") or [], key=lambda m: (m.get("platform") or {}).get("architecture") != "amd64")
            if not entries:
                return ManifestInfo(digest, media_type, 0, {})
            inner = self._get(f"/v2/{repository}/manifests/{entries[0]['digest']}", scopes,
                              headers={"Accept": ", ".join(MANIFEST_TYPES)})
            if inner.status_code != 200:
                return ManifestInfo(digest, media_type, 0, {})
            image = inner.json()
        config = image.get("config") or {}
        size = int(config.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in image.get("layers") or [])
        labels = {}
        if config.get("digest"):
            blob = self._get(f"/v2/{repository}/blobs/{config['digest']}", scopes)
            if blob.status_code == 200:
                try:
                    labels = (json.loads(blob.content).get("config") or {}).get("Labels") or {}
                except (ValueError, AttributeError):
                    labels = {}
        return ManifestInfo(digest, media_type, size, labels)
