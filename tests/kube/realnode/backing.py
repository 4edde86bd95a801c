"""PostgreSQL and Redis for a chart installed on a real node: private servers (Debian's binaries) listening on the
host's end of the node's veth pair (RealNode.host_ip), where the node's pods reach them. The suite's own servers
(scripts/services.sh) listen on 127.0.0.1, which a pod's network namespace cannot reach. Passwords on both (the
address is a host address); everything lives under `root` (a directory the postgres account can reach: not
pytest's 0700 tmp_path) and goes with stop()."""

import secrets
import shutil
import subprocess
import time
from pathlib import Path

from tests.kube.cluster import free_port


def _pg_bin():
    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]


class Backing:
    def __init__(self, root, address):
        self.root, self.address = Path(root), address
        self.password = secrets.token_hex(16)
        self.pg_port, self.redis_port = free_port(), free_port()
        self.pg_data = self.root / "pg"
        self.redis_process = None

    @property
    def database_url(self):
        return f"postgres://postgres:{self.password}@{self.address}:{self.pg_port}/platform"

    @property
    def redis_url(self):
        return f"redis://:{self.password}@{self.address}:{self.redis_port}/0"

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)   # postgres (the account) must reach its data directory below
        self.pg_data.mkdir()
        shutil.chown(self.pg_data, "postgres", "postgres")
        (self.root / "pw").write_text(self.password)
        shutil.chown(self.root / "pw", "postgres")
        self._as_postgres([str(_pg_bin() / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-E", "UTF8",
                           "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={self.root / 'pw'}"])
        # Any source may try (pods come from the node's subnet, NAT-ed or not); the password decides.
        (self.pg_data / "pg_hba.conf").write_text("local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n")
        options = (f"-c listen_addresses={self.address} -p {self.pg_port} -c unix_socket_directories={self.pg_data}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.pg_data / "server.log"),
                           "-w", "-o", options, "start"])
        self._as_postgres([str(_pg_bin() / "createdb"), "-h", str(self.pg_data), "-p", str(self.pg_port), "platform"])
        conf = self.root / "redis.conf"
        conf.write_text(f"bind {self.address}\nport {self.redis_port}\nrequirepass {self.password}\nsave \"\"\n"
                        f"appendonly no\ndir {self.root}\n")
        conf.chmod(0o600)
        self.redis_process = subprocess.Popen(["redis-server", str(conf)], stdout=(self.root / "redis.log").open("w"),
                                              stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while subprocess.run(["redis-cli", "-h", self.address, "-p", str(self.redis_port), "--no-auth-warning",
                              "-a", self.password, "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            assert self.redis_process.poll() is None and time.monotonic() < deadline, (self.root / "redis.log").read_text()
            time.sleep(0.1)
        return self

    def stop(self):
        if self.pg_data.joinpath("postmaster.pid").exists():
            self._as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "immediate", "stop"],
                              check=False)
        if self.redis_process:
            self.redis_process.terminate()
            self.redis_process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_postgres(self, argv, check=True):
        result = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True,
                                cwd="/")
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {result.stdout}\n{result.stderr}")
        return result
