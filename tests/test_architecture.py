"""Guards on the layout: platform/ is a plain folder, and the import contracts hold."""

import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()
    # The stdlib module stays the one that is imported (Celery, gunicorn and uuid rely on it).
    assert Path(platform.__file__).parent != ROOT / "platform"
    assert callable(platform.system)


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, env={"PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_spawner_does_not_import_django():
    code = "import sys, spawner; assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
