"""The doctor: is a profile ready to run jobs? Login, SLURM tools, partitions, Python, MPI, workdir.

:func:`doctor_checks` yields one ``(check, ok, detail)`` at a time, so ``python -m remote
doctor`` prints each line as it is known and the GUI's Check dialog ticks them off live.
"""

from __future__ import annotations

import json
import shlex
from typing import Iterator

from remote.backend import Backend, BackendError, SshBackend
from remote.config import Profile
from remote.jobs import JobError, SlurmScheduler
from remote.slurm import shell_word
from remote.ssh import AuthenticationError, HostKeyChangedError, HostKeyUnknownError, SshError


def doctor_checks(backend: Backend, profile: Profile) -> Iterator[tuple[str, bool, str]]:
    """Run the ``doctor`` checks one by one, yielding ``(check, ok, detail)``.

    ``detail`` is what was found, or what to do when ``ok`` is false. Stops after a failed
    login (nothing else can be checked then).
    """
    if isinstance(backend, SshBackend):
        try:
            backend.connect()
            yield "log in", True, f"{backend.connection.target.user}@{backend.connection.target.host}"
        except (HostKeyUnknownError, HostKeyChangedError) as exc:
            yield "log in", False, str(exc)  # says what to do itself
            return
        except AuthenticationError as exc:
            yield "log in", False, f"{exc} (check user and key_file, and that the key is in authorized_keys)"
            return
        except SshError as exc:
            yield "log in", False, f"{exc} (check host and port, and that this computer can reach it: VPN?)"
            return
        for tool in ("sbatch", "squeue", "sinfo", "sacct", "scontrol"):
            r = backend.run(["sh", "-c", 'command -v "$1"', "sh", tool], timeout_s=30)
            needed = tool in ("sbatch", "squeue", "sinfo")
            if r.ok:
                yield f"{tool} found", True, r.stdout.strip()
            else:
                yield f"{tool} found", not needed, ("not in PATH: is this a SLURM login node? add a `module load "
                                                    "slurm` line to setup" if needed else "not found (optional)")
        try:
            partitions = SlurmScheduler(backend).partitions()
        except JobError as exc:
            yield "partitions", False, str(exc)
        else:
            names = [p.name for p in partitions]
            yield "partitions", bool(names), ", ".join(p.label for p in partitions) or "sinfo lists no partitions"
            if profile.partition:
                ok = profile.partition in names
                yield f"partition {profile.partition}", ok, (
                    "exists" if ok else f"not found; set partition to one of {', '.join(names)} in the profile")
    py = shell_word(profile.python)
    code = ("import json,sys\nd={'python':sys.version.split()[0]}\n"
            "try:\n import numpy; d['numpy']=numpy.__version__\nexcept Exception as e: d['numpy_error']=str(e)\n"
            "try:\n import mpi4py; d['mpi4py']=mpi4py.__version__\n"
            " from mpi4py import MPI; d['mpi']=MPI.Get_library_version().splitlines()[0].strip()\n"
            "except Exception as e: d['mpi4py_error']=str(e)\nprint(json.dumps(d))")
    script = "\n".join(list(profile.setup) + [f"{py} -c {shlex.quote(code)}"])
    r = backend.run(["bash", "-c", script], timeout_s=120)
    info = {}
    if r.ok:
        try:
            info = json.loads(r.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            info = {}
    if not info:
        yield "python", False, f"{profile.python} did not run ({r.text[:200]}); set `python` or `setup` in the profile"
    else:
        yield "python", True, f"{profile.python} {info['python']}"
        yield "numpy", "numpy" in info, info.get("numpy") or f"{info.get('numpy_error')}: install numpy or load its module"
        yield "mpi4py", "mpi4py" in info, (f"{info['mpi4py']} ({info.get('mpi', '?')})" if "mpi4py" in info else
                                           f"{info.get('mpi4py_error')}: needed for more than one rank")
    launcher = "mpirun" if profile.is_local else profile.launcher
    r = backend.run(["bash", "-c", "\n".join(list(profile.setup) + [f"{launcher} --version"])], timeout_s=60)
    first = (r.stdout.strip() or r.stderr.strip()).splitlines()[:1]
    yield f"{launcher}", r.ok, (first[0] if r.ok and first else
                                f"{launcher} not usable ({r.text[:160]}); load your MPI module in setup")
    if launcher == "srun" and profile.mpi_plugin and not profile.is_local:
        r = backend.run(["srun", "--mpi=list"], timeout_s=60)
        text = r.stdout + r.stderr
        ok = profile.mpi_plugin in text
        yield f"srun --mpi={profile.mpi_plugin}", ok, ("available" if ok else
                                                       f"not listed by srun --mpi=list; set mpi_plugin to one of: "
                                                       f"{' '.join(text.split())[:160]}")
    try:
        workdir = backend.expand_path(profile.workdir)
        backend.makedirs(workdir, 0o700)
        probe = f"{workdir}/.scalelab-write-test"
        backend.write_bytes(probe, b"ok\n")
        backend.run(["rm", "-f", probe], timeout_s=30)
        yield "workdir writable", True, workdir
    except (OSError, BackendError) as exc:
        yield "workdir writable", False, f"{profile.workdir}: {exc}; choose a writable workdir"


__all__ = ["doctor_checks"]
