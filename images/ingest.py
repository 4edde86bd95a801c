"""Parsing what CI attaches to a digest: Trivy JSON reports and SBOMs (SPDX 2.x or CycloneDX JSON).

Pure functions: they take parsed JSON and return dataclasses, or raise ValueError with a message
that names the part of the document at fault.
"""

import re
from dataclasses import dataclass

# Trivy uses the first five; vendors' words (Red Hat, Ubuntu, GitHub advisories) map onto them.
_SEVERITY_ALIASES = {
    "CRITICAL": "CRITICAL", "HIGH": "HIGH", "IMPORTANT": "HIGH", "MEDIUM": "MEDIUM", "MODERATE": "MEDIUM",
    "LOW": "LOW", "NEGLIGIBLE": "LOW", "MINOR": "LOW", "UNKNOWN": "UNKNOWN", "NONE": "UNKNOWN", "UNTRIAGED": "UNKNOWN",
}


def normalise_severity(value):
    return _SEVERITY_ALIASES.get(str(value or "").strip().upper(), "UNKNOWN")


@dataclass(frozen=True)
class ParsedFinding:
    vulnerability_id: str
    package: str
    installed_version: str
    fixed_version: str
    severity: str
    title: str


def parse_trivy(report):
    """Findings of a Trivy JSON report (``trivy image --format json``), de-duplicated."""
    if not isinstance(report, dict):
        raise ValueError("must be a JSON object (Trivy's --format json output)")
    if report.get("SchemaVersion") not in (2, None):
        raise ValueError(f"SchemaVersion {report.get('SchemaVersion')!r} is not supported (expected 2)")
    results = report.get("Results", [])
    if not isinstance(results, list):
        raise ValueError("Results must be a list")
    findings = {}
    for r, result in enumerate(results):
        if not isinstance(result, dict):
            raise ValueError(f"Results[{r}] must be an object")
        vulnerabilities = result.get("Vulnerabilities") or []
        if not isinstance(vulnerabilities, list):
            raise ValueError(f"Results[{r}].Vulnerabilities must be a list")
        for v, item in enumerate(vulnerabilities):
            where = f"Results[{r}].Vulnerabilities[{v}]"
            if not isinstance(item, dict):
                raise ValueError(f"{where} must be an object")
            for key in ("VulnerabilityID", "PkgName"):
                if not isinstance(item.get(key), str) or not item[key].strip():
                    raise ValueError(f"{where}.{key} is required")
            finding = ParsedFinding(
                vulnerability_id=item["VulnerabilityID"].strip()[:80], package=item["PkgName"].strip()[:200],
                installed_version=str(item.get("InstalledVersion") or "")[:100],
                fixed_version=str(item.get("FixedVersion") or "")[:200],
                severity=normalise_severity(item.get("Severity")), title=str(item.get("Title") or "")[:500])
            findings[(finding.vulnerability_id, finding.package, finding.installed_version)] = finding
    return list(findings.values())


@dataclass(frozen=True)
class ParsedPackage:
    name: str
    version: str
    type: str


@dataclass(frozen=True)
class ParsedSbom:
    format: str
    packages: list
    python_version: str


def _purl_type(purl):
    match = re.match(r"pkg:([a-z0-9.+-]+)/", purl or "")
    if not match:
        return ""
    return {"pypi": "python"}.get(match.group(1), match.group(1))


def _python_version(packages):
    """The interpreter's version: a `python`/`cpython` package, or Debian's python3.X package names."""
    for package in packages:
        if package.name.lower() in ("python", "cpython", "python3") and package.type not in ("python",) and package.version:
            match = re.match(r"\d+\.\d+(\.\d+)?", package.version)
            if match:
                return match.group(0)
    for package in packages:
        match = re.fullmatch(r"(?:lib)?python(3\.\d+)(-minimal)?", package.name)
        if match:
            return match.group(1)
    return ""


def parse_sbom(document):
    """Packages of an SPDX 2.x JSON or CycloneDX JSON SBOM."""
    if not isinstance(document, dict):
        raise ValueError("must be a JSON object (SPDX 2.x JSON or CycloneDX JSON)")
    packages = []
    if str(document.get("spdxVersion", "")).startswith("SPDX-"):
        fmt, items = "spdx", document.get("packages", [])
        if not isinstance(items, list):
            raise ValueError("packages must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ValueError(f"packages[{i}].name is required")
            purl = next((ref.get("referenceLocator", "") for ref in item.get("externalRefs") or []
                         if isinstance(ref, dict) and ref.get("referenceType") == "purl"), "")
            packages.append(ParsedPackage(item["name"][:200], str(item.get("versionInfo") or "")[:100], _purl_type(purl)[:40]))
    elif document.get("bomFormat") == "CycloneDX":
        fmt, items = "cyclonedx", document.get("components", [])
        if not isinstance(items, list):
            raise ValueError("components must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ValueError(f"components[{i}].name is required")
            kind = _purl_type(item.get("purl")) or str(item.get("type") or "")
            packages.append(ParsedPackage(item["name"][:200], str(item.get("version") or "")[:100], kind[:40]))
    else:
        raise ValueError("is neither SPDX (spdxVersion) nor CycloneDX (bomFormat) JSON")
    unique = list({(p.name, p.version, p.type): p for p in packages}.values())
    return ParsedSbom(fmt, unique, _python_version(unique))
