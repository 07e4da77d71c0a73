"""Real PostgreSQL and Redis for the storage and service tests, from Debian's packages.

Started once per test session on loopback, random ports, in temporary data folders, and
stopped at the end. Tests skip (saying why) only when the binaries are absent and the
session is not root (root installs them: `PLANGATE_SETUP_SERVICES=1 scripts/setup`); under
CI they must run, so an absent binary as root is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, seconds: float = 30.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def _missing(what: str) -> None:
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(f"{what} is not installed: run PLANGATE_SETUP_SERVICES=1 scripts/setup")
    pytest.skip(f"{what} is not installed and this session is not root to install it "
                "(PLANGATE_SETUP_SERVICES=1 scripts/setup)")


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server; yields the URL of an empty database."""
    if not PG_BIN:
        _missing("PostgreSQL (Debian package postgresql)")
    bindir = PG_BIN[-1]
    data = Path(tempfile.mkdtemp(prefix="plangate-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data / "db"), "-U", "plangate",
                    "--auth=trust", "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    proc = subprocess.Popen([*as_user, str(bindir / "postgres"), "-D", str(data / "db"), "-p", str(port),
                             "-h", "127.0.0.1", "-k", str(data), "-c", "fsync=on", "-c", "max_connections=200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        url = f"postgresql://plangate@127.0.0.1:{port}/postgres"
        for _ in range(50):  # accepting TCP is not yet accepting queries
            try:
                import psycopg

                psycopg.connect(url, connect_timeout=2).close()
                break
            except Exception:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("Redis (Debian package redis-server)")
    assert binary is not None
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="plangate-redis-"))
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def new_database(url: str, name: str) -> str:
    """A fresh database on the server `url` points at."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


# ---- Dovecot (the assistant's and OpenClaw's IMAP tests) -----------------------------------
DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {auth_mechanisms}
mail_location = maildir:{root}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
"""


def dovecot_root(prefix: str, user: str, password: str, port: int, *,
                 auth_mechanisms: str = "plain login") -> Path:
    """A fresh folder for a loopback Dovecot (run as root): mail and home owned by the
    `mail` user, a passwd-file with one user, and `dovecot.conf` listening on `port`.
    Not under pytest's folder: the login and auth processes run as other users and must be
    able to walk down to it. The caller removes it."""
    import pwd

    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    mail_user = pwd.getpwnam("mail")
    for sub in ("mail", "home"):
        (root / sub).mkdir()
        os.chown(root / sub, mail_user.pw_uid, mail_user.pw_gid)
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(
        root=root, port=port, uid=mail_user.pw_uid, gid=mail_user.pw_gid,
        auth_mechanisms=auth_mechanisms))
    return root
