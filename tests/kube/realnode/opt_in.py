"""The real-node test modules' marks: opt-in (DSW_REAL_NODE=1, root, Debian's containerd installed), and quiet about
the test API server's self-signed certificate."""

import os
import shutil

import pytest

MARKS = [
    pytest.mark.skipif(
        os.environ.get("DSW_REAL_NODE") != "1" or os.geteuid() != 0 or not shutil.which("containerd"),
        reason="real node tests are opt-in: DSW_REAL_NODE=1, root, apt-get install containerd runc containernetworking-plugins"),
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]
