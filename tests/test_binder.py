"""Binder's launch as CI runs it: `binder/start` as a non-root user, with a command that
executes a notebook against the lab the script started.

Binder runs everything as a non-root user whose home holds the repository. Run as root
(as CI does), these tests create a dedicated user (``xiotlab-binder``) and run as it
through ``runuser``; run as anyone else, they run as that user. Each run gets a fresh
HOME in a temporary directory, a copy of ``notebooks/`` there, and a clean environment.

The user must reach the repository and the Python of its environment. When a directory on
the way is closed to it (a Python installed under ``/root``, mode 0700, as pyenv does),
the run happens in a private mount namespace where that directory is replaced by one that
holds only what is needed; the user gets no extra privilege, and nothing changes outside.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START = REPO / "binder" / "start"
POST_BUILD = REPO / "binder" / "postBuild"
ENV_BIN = Path(sys.prefix) / "bin"  # the environment running the tests, with xiotlab and jupyter
USER = "xiotlab-binder"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LAUNCH_LIMIT = 15.0  # seconds binder/start may hold the launch back

pytestmark = pytest.mark.integration


# --- running as the non-root user ----------------------------------------------


@dataclass
class User:
    """A non-root user and the way to run commands as it, with a HOME of its own."""

    name: str
    uid: int
    gid: int
    home: Path
    wrapper: list[str] = field(default_factory=list)  # e.g. a private mount namespace

    def command(self, argv: list[str], **env: str) -> list[str]:
        clean = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "PATH": SYSTEM_PATH,
            **env,
        }
        as_user = ["env", "-i", *(f"{k}={v}" for k, v in clean.items()), *map(str, argv)]
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", self.name, "--", *as_user]
        return [*self.wrapper, *as_user]

    def run(self, argv: list[str], *, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        process = subprocess.Popen(
            self.command(argv, **env),
            cwd=self.home,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"{shlex.join(map(str, argv))} did not finish within {timeout} s:\n{stdout}\n{stderr}")
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    created = subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", "--comment", "xiotlab Binder test", USER],
        capture_output=True,
        text=True,
    )
    try:
        return pwd.getpwnam(USER)  # another test process may have created it meanwhile
    except KeyError:
        pytest.fail(f"could not create the user {USER}: {created.stderr.strip()}")


def _searchable(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _closed_ancestors(needed: list[Path], uid: int, gids: set[int]) -> dict[Path, list[Path]]:
    """For each needed path, the first directory on its way that the user cannot enter."""
    closed: dict[Path, list[Path]] = {}
    for path in needed:
        for ancestor in reversed(path.parents):  # from / downwards
            if not _searchable(ancestor, uid, gids):
                closed.setdefault(ancestor, []).append(path)
                break
    return closed


def _permission_chain(path: Path) -> str:
    """``ls -ld`` of every directory from / down to ``path``, for failure messages."""
    lines = []
    for p in [*reversed(path.parents), path]:
        try:
            st = p.stat()
        except OSError as e:
            lines.append(f"  ({e.strerror}) {p}")
            continue
        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = str(st.st_uid)
        lines.append(f"  {stat.filemode(st.st_mode)} {owner:>8} {p}")
    return "\n".join(lines)


def _namespace_wrapper(closed: dict[Path, list[Path]], stage: Path) -> list[str]:
    """A private mount namespace where each closed directory is an open tmpfs holding only
    the needed paths (bind mounts of the real ones). Needs root (CAP_SYS_ADMIN)."""
    script = ["set -e", "umask 022"]
    mounts = []
    for blocker, paths in closed.items():
        for index, path in enumerate(paths):
            staged = stage / f"{len(mounts)}-{index}"
            staged.mkdir()
            script.append(f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(staged))}")
            mounts.append((path, staged))
        script.append(f"mount -t tmpfs -o mode=0755 xiotlab-binder-test {shlex.quote(str(blocker))}")
        for path, staged in mounts[-len(paths) :]:
            script.append(f"mkdir -p {shlex.quote(str(path))}")
            script.append(f"mount --bind {shlex.quote(str(staged))} {shlex.quote(str(path))}")
    script.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(script), "sh"]


def _without_nested(paths: list[Path]) -> list[Path]:
    paths = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in paths:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


@pytest.fixture
def user():
    """The non-root user, with a fresh HOME holding a copy of the notebooks."""
    scratch = Path(tempfile.mkdtemp(prefix="xiotlab-binder-"))
    try:
        home = scratch / "home"
        home.mkdir()
        shutil.copytree(REPO / "notebooks", home / "notebooks")
        if os.geteuid() == 0:
            for tool in ("useradd", "runuser"):
                if shutil.which(tool) is None:
                    pytest.fail(f"running as root, these tests need `{tool}` to act as a non-root user")
            account = _ensure_user()
            for path in [home, *home.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
            home.chmod(0o755)
            scratch.chmod(0o755)
            found = User(account.pw_name, account.pw_uid, account.pw_gid, home)
            gids = set(os.getgrouplist(account.pw_name, account.pw_gid))
            python_home = Path(sys.base_prefix).resolve()
            needed = _without_nested([REPO, home, python_home, (ENV_BIN / "python").resolve().parent])
            closed = _closed_ancestors(needed, found.uid, gids)
            if closed:
                stage = scratch / "stage"
                stage.mkdir(mode=0o700)
                if any(b == stage or b in stage.parents for b in closed):
                    pytest.fail(f"the temporary directory {scratch} lies in a directory {USER} cannot enter")
                found.wrapper = _namespace_wrapper(closed, stage)
                probe = subprocess.run([*found.wrapper, "true"], capture_output=True, text=True)
                if probe.returncode != 0:
                    pytest.fail(
                        f"A non-root user cannot reach {', '.join(map(str, needed))}: these directories are "
                        f"closed to others: {', '.join(map(str, closed))}, and no private mount namespace "
                        f"could open them here ({probe.stderr.strip()}). Put the repository and its Python "
                        "where every user can enter (Debian's /usr/bin/python3 and a clone outside /root), "
                        "or run these tests as a non-root user.\n" + "\n".join(_permission_chain(p) for p in needed)
                    )
        else:
            me = pwd.getpwuid(os.geteuid())
            found = User(me.pw_name, me.pw_uid, me.pw_gid, home)
        check = found.run(
            [ENV_BIN / "python", "-c", "import xiotlab, nbclient; open(__import__('sys').argv[1]).close()", START]
        )
        if check.returncode != 0:
            pytest.fail(
                f"{found.name} cannot run the environment's Python or read the repository:\n{check.stderr}\n"
                + _permission_chain(ENV_BIN / "python")
                + "\n"
                + _permission_chain(START)
            )
        yield found
    finally:
        for pid in _prosodies_under(scratch):  # a safety net: the tests stop their labs themselves
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)


def _prosodies_under(directory: Path) -> list[int]:
    """Prosody processes whose configuration lies under ``directory``: only ones these tests started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(b"prosody" in part for part in cmdline[:3]) and str(directory).encode() in b" ".join(cmdline):
                found.append(int(entry.name))
    return found


def _status(user: User, lab_home: Path) -> dict:
    result = user.run([ENV_BIN / "xiotlab", "--home", lab_home, "server", "status", "--json"])
    return json.loads(result.stdout)


def _text_outputs(cell: dict) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append("".join(output.get("text", "")))
        texts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


# --- the tests ------------------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize("setup", ["binder", "checkout"])
def test_start_launches_a_notebook_that_joins_the_lab_it_started(user, setup):
    if setup == "binder":
        # As on Binder: xiotlab and jupyter on PATH, the lab in the default home ~/.xiotlab.
        env = {"PATH": f"{ENV_BIN}:{SYSTEM_PATH}"}
        lab_home = user.home / ".xiotlab"
        jupyter = "jupyter"
    else:
        # As in a clone set up by bin/setup: nothing on PATH, binder/start finds ../.venv.
        if not (START.parent.parent / ".venv" / "bin" / "xiotlab").exists():
            pytest.skip("no .venv in the repository (bin/setup makes it)")
        lab_home = user.home / "lab"
        env = {"XIOTLAB_HOME": str(lab_home)}
        jupyter = ENV_BIN / "jupyter"
    stamp = user.home / ".launched-at"
    command = [
        START,
        "sh",
        "-c",
        'date +%s.%N > "$HOME/.launched-at"; exec "$@"',
        "sh",
        jupyter,
        "execute",
        "--timeout=60",
        "--output=executed",
        "notebooks/00-start-here.ipynb",
    ]

    began = time.time()
    launched = user.run(command, timeout=150, **env)
    log = user.home / ".xiotlab-start.log"
    try:
        said = f"{launched.stdout}\n{launched.stderr}\n{log}:\n{log.read_text() if log.exists() else '(none)'}"
        assert launched.returncode == 0, said
        assert "the lab server runs" in launched.stdout, said
        assert float(stamp.read_text()) - began < LAUNCH_LIMIT, "binder/start held the launch back too long"

        # The lab runs as the user, with its home, pid file and log under the user's HOME.
        status = _status(user, lab_home)
        assert status["running"], status
        assert Path(status["home"]) == lab_home.resolve() and user.home.resolve() in lab_home.resolve().parents
        pid = status["pid"]
        assert Path(f"/proc/{pid}").stat().st_uid == user.uid != 0
        assert int((lab_home / "prosody.pid").read_text()) == pid
        assert (lab_home / "prosody.log").stat().st_uid == user.uid
        assert "running on 127.0.0.1:" in log.read_text()

        # The notebook ran without an error and joined that lab, not a private one.
        executed = json.loads((user.home / "notebooks" / "executed.ipynb").read_text())
        code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
        assert all(cell.get("execution_count") for cell in code), "a cell did not run"
        for cell in code:
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", output
                assert output.get("name") != "stderr", output
        joined = _text_outputs(code[0])
        assert f"on 127.0.0.1:{status['port']}, running, home='{lab_home.resolve()}'" in joined, joined
        assert status["accounts"], "the notebook made no account on the lab it joined (the lab started empty)"

        # A second launch finds the lab running and leaves it alone.
        again = user.run([START, "true"], **env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert _status(user, lab_home)["pid"] == pid
    finally:
        stopped = user.run([ENV_BIN / "xiotlab", "--home", lab_home, "server", "stop"])
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not _prosodies_under(user.home)


@pytest.mark.timeout(120)
def test_post_build_checks_the_image_and_leaves_no_lab(user):
    # As at Binder's build: the notebook user, xiotlab on PATH, run from the repository.
    tmp = user.home / "tmp"
    tmp.mkdir()
    os.chown(tmp, user.uid, user.gid)
    built = user.run([POST_BUILD], PATH=f"{ENV_BIN}:{SYSTEM_PATH}", TMPDIR=str(tmp))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "running on 127.0.0.1:" in built.stdout
    assert list(tmp.iterdir()) == []
    assert not _prosodies_under(user.home)
