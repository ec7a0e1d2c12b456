"""A real two-node SLURM cluster and OpenSSH server on this one machine, for the integration tests.

Everything lives under one scratch folder (``SCALELAB_CLUSTER_DIR``, default
``/var/tmp/scalelab-cluster``): munged with its own key and socket, slurmctld and two slurmd
daemons (nodes ``n1`` and ``n2``, each with its own port, spool, log and TmpFS; SLURM as
packaged here supports several slurmd on one host), and an sshd on a loopback port with its
own host key. A test user logs in with a generated key; its jobs run a venv (made from
``/usr/bin/python3``, with numpy and mpi4py) kept in ``/opt/scalelab-testenv`` so later runs
reuse it.

Both "nodes" share the real hostname, which Open MPI's shared-memory transport keys its
segments by: ranks on different nodes would clash. The profile's setup therefore sets
``OMPI_MCA_btl=self,tcp`` for jobs on more than one node, as a cluster whose nodes share a
hostname would need to; tell the nodes apart by ``SLURMD_NODENAME``.

Daemons are stopped by the PIDs in their pid files, never by name. Needs root (it creates
the test user and runs the daemons as root, as SLURM's ``SlurmUser=root`` setup expects).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT_DIR = Path(os.environ.get("SCALELAB_CLUSTER_DIR", "/var/tmp/scalelab-cluster"))
TESTENV_ROOT = Path(os.environ.get("SCALELAB_TESTENV_ROOT", "/opt/scalelab-testenv"))
# Bump when the job venv's contents change: a new stamp builds a new venv next to the old.
TESTENV_STAMP = "v1-numpy-mpi4py"
# The venv for exported Keras scripts (built on demand, see TestCluster.ensure_keras_python).
KERAS_TESTENV_STAMP = "keras-v1-torch-2.13.0"
KERAS_TORCH = "2.13.0"
USER = os.environ.get("SCALELAB_CLUSTER_USER", "scalelabtest")
SSH_PORT = int(os.environ.get("SCALELAB_CLUSTER_SSH_PORT", "22822"))
CTLD_PORT = int(os.environ.get("SCALELAB_CLUSTER_CTLD_PORT", "16817"))
SLURMD_PORT = int(os.environ.get("SCALELAB_CLUSTER_SLURMD_PORT", "16818"))
#: the two nodes and their slurmd ports (the second: SCALELAB_CLUSTER_SLURMD_PORT2, default the next port)
NODES = ("n1", "n2")
NODE_PORTS = (SLURMD_PORT, int(os.environ.get("SCALELAB_CLUSTER_SLURMD_PORT2", str(SLURMD_PORT + 1))))
PROFILE_NAME = "testcluster"
#: PAM service (and program name) of the test sshd that asks for a one-time code.
KBD_PAM_SERVICE = "scalelab-test-kbd"
PARTITION = "debug"
CPUS = 2


class ClusterError(RuntimeError):
    """The test cluster could not be brought up (the message says which part and why)."""


# ----------------------------------------------------------------------------- small helpers


def _pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (state Z) counts as stopped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


def _kill_pidfile(path: Path, timeout_s: float = 5.0, with_children: bool = False) -> None:
    pid = _read_pid(path)
    if pid is None or not _pid_alive(pid):
        with contextlib.suppress(OSError):
            path.unlink()
        return
    # sshd's per-connection processes (and their privilege-separated children, which hold
    # the sockets) are descendants of the listener: all must go for a real outage.
    victims = [pid] + (_descendants(pid) if with_children else [])
    for p in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_pid_alive(p) for p in victims):
        time.sleep(0.05)
    for p in victims:
        if _pid_alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    with contextlib.suppress(OSError):
        path.unlink()


def _wait_for(what: str, check, timeout_s: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise ClusterError(f"{what} did not come up within {timeout_s:g} s{tail}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tool(name: str) -> str:
    """Absolute path of a system tool (sbin folders are not on every PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise ClusterError(f"{name} is not installed (scripts/system-packages.sh test installs what the cluster needs)")


def _run(argv: list[str], env: dict | None = None, timeout_s: float = 60, check: bool = True,
         user: str | None = None) -> subprocess.CompletedProcess:
    if not argv[0].startswith("/"):
        argv = [_tool(argv[0]), *argv[1:]]
    kwargs = {}
    if user is not None:
        pw = pwd.getpwnam(user)
        kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s, **kwargs)
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}")
    return proc


# ----------------------------------------------------------------------------- the cluster


@dataclass
class TestCluster:
    """The running cluster: paths, the profile to reach it, and start/stop of its parts.

    ``profile`` is a :class:`remote.config.Profile` named ``testcluster``; ``config_path``
    is a TOML file holding it; ``known_hosts`` trusts the sshd's host key.
    """

    root: Path = ROOT_DIR

    __test__ = False  # not a pytest test class

    # -- paths
    @property
    def munge_dir(self) -> Path:
        return self.root / "munge"

    @property
    def munge_socket(self) -> Path:
        return self.munge_dir / "munged.sock"

    @property
    def slurm_dir(self) -> Path:
        return self.root / "slurm"

    @property
    def slurm_conf(self) -> Path:
        return self.slurm_dir / "slurm.conf"

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def home(self) -> Path:
        return self.root / "home" / USER

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def host_key(self) -> Path:
        return self.ssh_dir / "ssh_host_ed25519_key"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def config_path(self) -> Path:
        return self.root / "profiles.toml"

    @property
    def jobcomp(self) -> Path:
        return self.slurm_dir / "jobcomp.txt"

    @property
    def persistent_marker(self) -> Path:
        return self.root / "started-by-hand"

    @property
    def python(self) -> str:
        return str(TESTENV_ROOT / TESTENV_STAMP / "bin" / "python")

    @property
    def user(self) -> str:
        return USER

    @property
    def ssh_port(self) -> int:
        return SSH_PORT

    @property
    def env(self) -> dict[str, str]:
        """Environment for SLURM client commands run here as root."""
        return {**os.environ, "SLURM_CONF": str(self.slurm_conf)}

    @property
    def profile(self):
        from remote.config import Profile
        return Profile(
            name=PROFILE_NAME, kind="ssh", host="127.0.0.1", port=SSH_PORT, user=USER,
            key_file=str(self.client_key), known_hosts=str(self.known_hosts), workdir="~/scalelab",
            python=self.python,
            setup=('export TMPDIR="$HOME/tmp"', 'mkdir -p "$TMPDIR"',
                   # The two nodes share one hostname, which Open MPI's shared memory would mix up
                   # across them; a one-node job keeps shared memory.
                   'if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ]; then export OMPI_MCA_btl=self,tcp; fi'),
            partition=PARTITION, launcher="srun", mpi_plugin="pmix", ssh_config="/dev/null",
            connect_timeout_s=5.0, keepalive_s=5,
        )

    # -- status
    def _pidfiles(self) -> dict[str, Path]:
        return {
            "munged": self.munge_dir / "munged.pid",
            "slurmctld": self.slurm_dir / "slurmctld.pid",
            **{f"slurmd {node}": self.slurm_dir / f"slurmd-{node}.pid" for node in NODES},
            "sshd": self.ssh_dir / "sshd.pid",
        }

    def status(self) -> dict[str, bool]:
        """Which daemons are running, by their pid files."""
        out = {}
        for name, path in self._pidfiles().items():
            pid = _read_pid(path)
            out[name] = pid is not None and _pid_alive(pid)
        return out

    def is_up(self) -> bool:
        if not all(self.status().values()) or not self.config_path.exists():
            return False
        proc = _run(["scontrol", "ping"], env=self.env, check=False, timeout_s=10)
        return "UP" in proc.stdout and _port_open(SSH_PORT)

    # -- bring-up
    def start(self, log=print) -> "TestCluster":
        """Start everything (no-op when already up). Returns self."""
        if os.geteuid() != 0:
            raise ClusterError("the test cluster needs root (it creates a user and runs slurmd)")
        for tool in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "useradd",
                     "ssh-keygen"):
            _tool(tool)
        if not Path("/usr/sbin/sshd").exists():
            raise ClusterError("/usr/sbin/sshd is not installed (package openssh-server)")
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        with self._lock():
            if self.is_up():
                return self
            st = self.status()
            slurm_up = st["munged"] and st["slurmctld"] and all(st[f"slurmd {node}"] for node in NODES)
            if slurm_up and not st["sshd"] and self.config_path.exists():
                # Only sshd is down (a test stops it on purpose): start it, keep SLURM's jobs.
                self.start_sshd()
                if self.is_up():
                    return self
            t0 = time.monotonic()
            self.stop_daemons()
            self._ensure_testenv(log)
            self._ensure_user()
            self._write_keys_and_configs()
            self._start_munge()
            self._start_slurm()
            self.start_sshd()
            log(f"test cluster up in {time.monotonic() - t0:.1f} s under {self.root}")
        return self

    @contextlib.contextmanager
    def _lock(self):
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure_testenv(self, log) -> None:
        target = TESTENV_ROOT / TESTENV_STAMP
        if (target / ".complete").exists():
            return
        log(f"building the job venv {target} (numpy, mpi4py), once")
        TESTENV_ROOT.mkdir(parents=True, exist_ok=True)
        os.chmod(TESTENV_ROOT, 0o755)
        # A venv is not relocatable: build it at its final path and mark it complete last,
        # so a half-built one is rebuilt next time.
        shutil.rmtree(target, ignore_errors=True)
        _run(["/usr/bin/python3", "-m", "venv", str(target)], timeout_s=120)
        _run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "numpy", "mpi4py"], timeout_s=600)
        _run([str(target / "bin" / "python"), "-c", "import numpy, mpi4py"], timeout_s=60)
        _run(["chmod", "-R", "a+rX", str(target)])
        (target / ".complete").write_text(TESTENV_STAMP + "\n")

    def ensure_keras_python(self, log=print) -> str:
        """A second job venv with Keras 3 and the CPU build of PyTorch, for exported Keras scripts.

        Kept apart from the main job venv (and built only when a test asks for it, once, about
        40 s from pip's cache), so that cluster starts stay fast. Returns its Python.
        """
        target = TESTENV_ROOT / KERAS_TESTENV_STAMP
        python = target / "bin" / "python"
        TESTENV_ROOT.mkdir(parents=True, exist_ok=True)
        os.chmod(TESTENV_ROOT, 0o755)
        with open(TESTENV_ROOT / f".{KERAS_TESTENV_STAMP}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                if not (target / ".complete").exists():
                    log(f"building the Keras job venv {target} (numpy, keras, torch {KERAS_TORCH}), once")
                    shutil.rmtree(target, ignore_errors=True)
                    _run(["/usr/bin/python3", "-m", "venv", str(target)], timeout_s=120)
                    _run([str(python), "-m", "pip", "install", "-q", "numpy", "keras>=3", f"torch=={KERAS_TORCH}"],
                         timeout_s=900)
                    _run([str(python), "-c", "import numpy, keras, torch"], timeout_s=120,
                         env={**os.environ, "KERAS_BACKEND": "torch"})
                    _run(["chmod", "-R", "a+rX", str(target)])
                    (target / ".complete").write_text(KERAS_TESTENV_STAMP + "\n")
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return str(python)

    def _ensure_user(self) -> None:
        home = self.home
        home.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(home.parent, 0o755)
        try:
            pw = pwd.getpwnam(USER)
        except KeyError:
            _run(["useradd", "-M", "-d", str(home), "-s", "/bin/bash", USER])
            pw = pwd.getpwnam(USER)
        if pw.pw_dir != str(home):
            _run(["usermod", "-d", str(home), USER])
        # useradd leaves the account locked ("!"), and sshd without PAM refuses even key
        # logins to a locked account; "*" means "no password" but not locked.
        _run(["usermod", "-p", "*", USER])
        pw = pwd.getpwnam(USER)
        # A fresh start begins with an empty home but for the login keys: job ids restart at 1,
        # so an earlier run's job folders and output files would stand where new jobs write.
        if home.exists():
            for entry in home.iterdir():
                if entry.name == ".ssh":
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        for d, mode in ((home, 0o755), (home / ".ssh", 0o700), (home / "tmp", 0o700)):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(d, mode)

    def _write_keys_and_configs(self) -> None:
        pw = pwd.getpwnam(USER)
        for d in (self.munge_dir, self.slurm_dir, self.ssh_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        if not self.host_key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "scalelab-test-host", "-f", str(self.host_key)])
        if not self.client_key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "scalelab-test-client", "-f", str(self.client_key)])
        auth = self.home / ".ssh" / "authorized_keys"
        auth.write_text((self.client_key.with_suffix(".pub")).read_text())
        os.chown(auth, pw.pw_uid, pw.pw_gid)
        os.chmod(auth, 0o600)
        host_pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{SSH_PORT} {host_pub[0]} {host_pub[1]}\n")
        os.chmod(self.known_hosts, 0o600)

        (self.ssh_dir / "sshd_config").write_text(
            "\n".join([
                f"Port {SSH_PORT}",
                "ListenAddress 127.0.0.1",
                f"HostKey {self.host_key}",
                f"PidFile {self.ssh_dir / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "UsePAM no",
                f"AllowUsers {USER}",
                "StrictModes yes",
                "X11Forwarding no",
                "AllowTcpForwarding yes",
                "PrintMotd no",
                "ClientAliveInterval 5",
                "MaxStartups 50:30:100",
                "Subsystem sftp internal-sftp",
                f"SetEnv SLURM_CONF={self.slurm_conf}",
                "",
            ])
        )

        if not (self.munge_dir / "munge.key").exists():
            _run(["mungekey", "--create", f"--keyfile={self.munge_dir / 'munge.key'}"])
        os.chmod(self.munge_dir / "munge.key", 0o600)

        for sub in ("state", "spool", "tmp"):
            shutil.rmtree(self.slurm_dir / sub, ignore_errors=True)
            (self.slurm_dir / sub).mkdir(mode=0o755)
        for node in NODES:
            (self.slurm_dir / "spool" / f"slurmd-{node}").mkdir(mode=0o755)
            # Each node's own TmpFS: with MpiDefault=pmix both nodes' steps would otherwise
            # create the same /tmp/spmix_appdir_* folder and fail.
            (self.slurm_dir / "tmp" / node).mkdir()
            os.chmod(self.slurm_dir / "tmp" / node, 0o1777)
        # Job ids restart at 1 on a fresh start; an old completion log would confuse sacct -c.
        self.jobcomp.write_text("")
        s = self.slurm_dir
        self.slurm_conf.write_text(
            "\n".join([
                "ClusterName=scalelab",
                "SlurmctldHost=localhost(127.0.0.1)",
                f"SlurmctldPort={CTLD_PORT}",
                f"SlurmdPort={SLURMD_PORT}",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={self.munge_socket}",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"StateSaveLocation={s / 'state'}",
                f"SlurmdSpoolDir={s / 'spool' / 'slurmd-%n'}",
                f"TmpFS={s / 'tmp' / '%n'}",
                f"SlurmctldPidFile={s / 'slurmctld.pid'}",
                f"SlurmdPidFile={s / 'slurmd-%n.pid'}",
                f"SlurmctldLogFile={s / 'slurmctld.log'}",
                f"SlurmdLogFile={s / 'slurmd-%n.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "MpiDefault=pmix",
                "ReturnToService=2",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/filetxt",
                f"JobCompLoc={self.jobcomp}",
                "MinJobAge=300",
                "KillWait=2",
                "SchedulerType=sched/backfill",
                "SlurmctldTimeout=30",
                "SlurmdTimeout=60",
                "InactiveLimit=0",
                "Waittime=0",
                *(f"NodeName={node} NodeAddr=127.0.0.1 NodeHostname=localhost Port={port} CPUs={CPUS} Sockets=1 "
                  f"CoresPerSocket={CPUS} ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN"
                  for node, port in zip(NODES, NODE_PORTS)),
                f"PartitionName={PARTITION} Nodes={','.join(NODES)} Default=YES MaxTime=INFINITE State=UP",
                "",
            ])
        )
        os.chmod(self.slurm_conf, 0o644)

    def _start_munge(self) -> None:
        m = self.munge_dir
        _run([
            "/usr/sbin/munged", "--force", f"--socket={self.munge_socket}", f"--key-file={m / 'munge.key'}",
            f"--log-file={m / 'munged.log'}", f"--pid-file={m / 'munged.pid'}", f"--seed-file={m / 'munged.seed'}",
        ])
        _wait_for("munged", lambda: self.munge_socket.exists(), 10, m / "munged.log")

    def _start_slurm(self) -> None:
        _run(["/usr/sbin/slurmctld", "-i"], env=self.env)

        def ctld_up() -> bool:
            return "UP" in _run(["scontrol", "ping"], env=self.env, check=False, timeout_s=10).stdout

        _wait_for("slurmctld", ctld_up, 30, self.slurm_dir / "slurmctld.log")
        for node in NODES:
            _run(["/usr/sbin/slurmd", "-N", node], env=self.env)

        def nodes_idle() -> bool:
            out = _run(["sinfo", "-h", "-N", "-o", "%N %T"], env=self.env, check=False, timeout_s=10)
            states = dict(line.split() for line in out.stdout.splitlines() if len(line.split()) == 2)
            return all(states.get(node, "").rstrip("*") == "idle" for node in NODES)

        _wait_for("slurmd (both nodes idle)", nodes_idle, 30, self.slurm_dir / f"slurmd-{NODES[-1]}.log")
        # slurmctld resets the completion log's mode; `sacct -c` opens it for writing.
        with contextlib.suppress(OSError):
            os.chmod(self.jobcomp, 0o666)

    def start_sshd(self) -> None:
        """Start the sshd (again); waits until its port accepts connections."""
        pid = _read_pid(self.ssh_dir / "sshd.pid")
        if pid is not None and _pid_alive(pid) and _port_open(SSH_PORT):
            return  # already running (another test session may have started it)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _run(["/usr/sbin/sshd", "-f", str(self.ssh_dir / "sshd_config"), "-E", str(self.ssh_dir / "sshd.log")])
        _wait_for("sshd", lambda: _port_open(SSH_PORT), 10, self.ssh_dir / "sshd.log")
        self._write_profile_file()

    def stop_sshd(self) -> None:
        """Stop the sshd and drop every open SSH session (as a network outage would)."""
        _kill_pidfile(self.ssh_dir / "sshd.pid", with_children=True)

    def _write_profile_file(self) -> None:
        from remote.config import save_profiles
        save_profiles({PROFILE_NAME: self.profile}, self.config_path)

    # -- teardown
    def stop_daemons(self) -> None:
        """Stop every daemon by its pid file (never by name)."""
        self.stop_sshd()
        for node in NODES:
            _kill_pidfile(self.slurm_dir / f"slurmd-{node}.pid")
        _kill_pidfile(self.slurm_dir / "slurmd.pid")  # a one-node cluster started by an older checkout
        _kill_pidfile(self.slurm_dir / "slurmctld.pid")
        _kill_pidfile(self.munge_dir / "munged.pid")

    def stop(self) -> None:
        with self._lock():
            self.stop_daemons()
            with contextlib.suppress(OSError):
                self.persistent_marker.unlink()

    # -- helpers for tests
    def as_user(self, argv: list[str], timeout_s: float = 30) -> subprocess.CompletedProcess:
        """Run a command here as the test user with the cluster's SLURM_CONF."""
        env = {"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(self.home), "SLURM_CONF": str(self.slurm_conf)}
        return _run(argv, env=env, timeout_s=timeout_s, check=False, user=USER)

    def authorize_key(self, public_key_line: str) -> None:
        """Let the test user log in with one more key (appended once to authorized_keys)."""
        pw = pwd.getpwnam(USER)
        auth = self.home / ".ssh" / "authorized_keys"
        with self._lock():
            lines = auth.read_text().splitlines() if auth.exists() else []
            if public_key_line.strip() not in (ln.strip() for ln in lines):
                lines.append(public_key_line.strip())
                auth.write_text("\n".join(lines) + "\n")
            os.chown(auth, pw.pw_uid, pw.pw_gid)
            os.chmod(auth, 0o600)

    def install_code_check(self, code: str) -> str:
        """A PAM service that asks one secret question and accepts exactly ``code``; returns its name.

        OpenSSH's sshd (before 9.8) names its PAM service after the program it runs as, so an
        sshd started through a link named :data:`KBD_PAM_SERVICE` uses
        ``/etc/pam.d/scalelab-test-kbd`` and no other sshd is affected. The service asks
        ``Password:`` through PAM's conversation (pam_exec with ``expose_authtok``), which sshd
        turns into a keyboard-interactive prompt, and compares the answer with ``code``.
        """
        checker = self.ssh_dir / "kbd-check.sh"
        code_file = self.ssh_dir / "kbd-code"
        with self._lock():
            code_file.write_text(code)
            os.chmod(code_file, 0o600)
            checker.write_text(
                "#!/bin/sh\n"
                "# Called by pam_exec with the answer on stdin (NUL-terminated): accept only the code.\n"
                f'[ "$PAM_USER" = "{USER}" ] || exit 1\n'
                f'[ "$(tr -d \'\\000\')" = "$(cat {code_file})" ]\n')
            os.chmod(checker, 0o755)
            Path(f"/etc/pam.d/{KBD_PAM_SERVICE}").write_text(
                "# ScaleLab test cluster: keyboard-interactive one-time code for the test sshd only\n"
                f"auth     required pam_exec.so type=auth expose_authtok quiet {checker}\n"
                "auth     required pam_permit.so\n"
                "account  required pam_permit.so\n"
                "session  required pam_permit.so\n"
                "password required pam_deny.so\n")
        return KBD_PAM_SERVICE

    @contextlib.contextmanager
    def extra_sshd(self, folder: Path, extra_config: tuple[str, ...] = (), program: str = "sshd"):
        """A second sshd for the test user on a free loopback port, stopped when the block ends.

        It uses the main sshd's host key (so the same known_hosts line, under its own
        ``[127.0.0.1]:port`` name, trusts it). Yields the port. ``extra_config`` lines come
        first in its sshd_config, so they win over the defaults below them (sshd keeps the
        first value it reads). ``program`` is the name it runs as, which is its PAM service
        name (see :meth:`install_code_check`).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o755)
        binary = Path("/usr/sbin/sshd")
        if program != "sshd":
            binary = folder / program
            binary.unlink(missing_ok=True)
            binary.symlink_to("/usr/sbin/sshd")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        pidfile = folder / "sshd.pid"
        config = folder / "sshd_config"
        config.write_text("\n".join([
            *extra_config,
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {pidfile}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "UsePAM no",
            f"AllowUsers {USER}",
            "StrictModes yes",
            "AllowTcpForwarding yes",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
            "",
        ]))
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _run([str(binary), "-f", str(config), "-E", str(folder / "sshd.log")])
        try:
            _wait_for("extra sshd", lambda: _port_open(port), 10, folder / "sshd.log")
            yield port
        finally:
            _kill_pidfile(pidfile, with_children=True)

    def describe(self) -> str:
        st = self.status()
        lines = [f"test cluster under {self.root}"]
        lines += [f"  {name:10s} {'running' if up else 'stopped'}" for name, up in st.items()]
        lines += [
            f"  profile file: {self.config_path}",
            f"  try: python -m remote --config {self.config_path} doctor --profile {PROFILE_NAME}",
            f"  SLURM clients here: export SLURM_CONF={self.slurm_conf}",
        ]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.cluster start|stop|status``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("start", "stop", "status"):
        print("usage: python -m tests.cluster start|stop|status", file=sys.stderr)
        return 2
    cluster = TestCluster()
    try:
        if argv[0] == "start":
            cluster.start()
            cluster.persistent_marker.write_text("started with python -m tests.cluster start\n")
            print(cluster.describe())
        elif argv[0] == "stop":
            cluster.stop()
            print(cluster.describe())
        else:
            print(cluster.describe())
            return 0 if all(cluster.status().values()) else 1
    except ClusterError as exc:
        print(f"test cluster: {exc}", file=sys.stderr)
        return 2
    return 0
