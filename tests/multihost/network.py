"""Hosts as Linux network namespaces joined by a bridge.

The namespace `<prefix>-net` is the switch: a bridge `br0` with one port per host, named after
the host. Each host is the namespace `<prefix>-<name>`, with `lo` and `eth0` (the other end of
its cable) holding 10.77.0.X/24, and runs its processes under a hostname of its own (a UTS
namespace), so `socket.gethostname()` tells the hosts apart as it would on real machines.
Nothing is added to the machine's own network: a process reaches these addresses only from
inside a host (tests/multihost/forward.py brings one port out to 127.0.0.1)."""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SUBNET = "10.77.0"  # a /24 of the private 10/8 that is unlikely to be a real network's
# The test's names: `fitqmh-<pid of the run>-<random>`, so a later run can tell the leftovers
# of a run that died (its pid gone) from those of a run still going.
TEST_PREFIX = "fitqmh"
_STALE = re.compile(rf"^{TEST_PREFIX}-(\d+)-[0-9a-f]+(-|$)")
_SET_HOSTNAME = (
    "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execvp(sys.argv[2], sys.argv[2:])"
)
PROGRAMS = ("ip", "unshare")


class NamespaceError(RuntimeError):
    pass


def program(name: str) -> str | None:
    """A program on PATH or in the sbin folders a non-login PATH may lack."""
    return shutil.which(name) or next(
        (f"{d}/{name}" for d in ("/usr/sbin", "/sbin") if os.access(f"{d}/{name}", os.X_OK)), None
    )


def _run(*argv: str, timeout: float = 30) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NamespaceError(f"{' '.join(argv)}: {error}") from error
    if done.returncode != 0:
        raise NamespaceError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def ip(*args: str) -> str:
    return _run(program("ip") or "ip", *args)


def namespaces() -> list[str]:
    """The named network namespaces (`ip netns list` prints `name (id: N)` or `name`)."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def why_not_usable() -> str | None:
    """None where this process can make network namespaces; else what is missing."""
    if os.geteuid() != 0:
        return f"making network namespaces needs root (this runs as uid {os.geteuid()})"
    missing = [name for name in PROGRAMS if program(name) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    probe = f"{TEST_PREFIX}-{os.getpid()}-{secrets.token_hex(3)}-probe"
    try:
        ip("netns", "add", probe)
        ip("-n", probe, "link", "add", "name", "br0", "type", "bridge")
    except NamespaceError as error:
        return f"network namespaces are not allowed here: {error}"
    finally:
        if probe in namespaces():
            ip("netns", "delete", probe)
    return None


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    namespace: str

    @property
    def hostname(self) -> str:
        return f"fitq-{self.name}"


class Network:
    """`octets`: host name -> last number of its address."""

    def __init__(self, prefix: str, octets: Mapping[str, int]) -> None:
        self.prefix = prefix
        self.switch = f"{prefix}-net"
        self.hosts = {
            name: Host(name, f"{SUBNET}.{octet}", f"{prefix}-{name}")
            for name, octet in octets.items()
        }

    def build(self) -> None:
        """The switch, then each host plugged into it; on any failure, all of it undone."""
        try:
            ip("netns", "add", self.switch)
            ip("-n", self.switch, "link", "add", "name", "br0", "type", "bridge")
            ip("-n", self.switch, "link", "set", "dev", "br0", "up")
            for host in self.hosts.values():
                self._plug(host)
        except BaseException:
            self.destroy()
            raise

    def _plug(self, host: Host) -> None:
        ns = host.namespace
        ip("netns", "add", ns)
        ip("-n", self.switch, "link", "add", "name", host.name, "type", "veth",
           "peer", "name", "eth0", "netns", ns)  # fmt: skip
        ip("-n", self.switch, "link", "set", "dev", host.name, "master", "br0", "up")
        ip("-n", ns, "address", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "dev", "eth0", "up")
        ip("-n", ns, "link", "set", "dev", "lo", "up")

    def argv(self, name: str, argv: Sequence[str]) -> list[str]:
        """`argv` run on host `name`: in its namespace, under its hostname (the same pid,
        as each step execs the next)."""
        host = self.hosts[name]
        return [
            program("ip") or "ip", "netns", "exec", host.namespace,
            program("unshare") or "unshare", "--uts", "--",
            sys.executable, "-c", _SET_HOSTNAME, host.hostname, *argv,
        ]  # fmt: skip

    def set_link(self, name: str, up: bool) -> None:
        """The host's cable, at the switch's end: down, the host reaches nothing and nothing
        reaches it."""
        ip("-n", self.switch, "link", "set", "dev", name, "up" if up else "down")

    def pids(self, name: str) -> list[int]:
        return pids_of(self.hosts[name].namespace)

    def kill_host(self, name: str) -> None:
        kill_namespace(self.hosts[name].namespace)

    def destroy(self) -> None:
        """Every process of every host killed, every namespace deleted (their cables with
        them); whatever was never made is skipped."""
        delete_namespaces([*(h.namespace for h in self.hosts.values()), self.switch])


def pids_of(namespace: str) -> list[int]:
    return [int(pid) for pid in ip("netns", "pids", namespace).split()]


def kill_namespace(namespace: str, timeout: float = 20) -> None:
    """SIGKILL every process in the namespace until none is left (children forked meanwhile
    included)."""
    deadline = time.monotonic() + timeout
    while pids := pids_of(namespace):
        if time.monotonic() > deadline:
            raise NamespaceError(f"processes {pids} of {namespace} outlived SIGKILL")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def delete_namespaces(names: Sequence[str]) -> None:
    present = set(namespaces())
    for name in names:
        if name in present:
            kill_namespace(name)
            ip("netns", "delete", name)


def sweep_stale(folder: Path) -> list[str]:
    """Deletes what a test run that died left behind (its pid is gone): its namespaces, and
    its folders in `folder`. A run still going is left alone. The names swept."""
    stale = [name for name in namespaces() if _dead_owner(name)]
    delete_namespaces(stale)
    for path in folder.glob(f"{TEST_PREFIX}-*"):
        if _dead_owner(path.name):
            shutil.rmtree(path, ignore_errors=True)
            stale.append(str(path))
    return stale


def _dead_owner(name: str) -> bool:
    match = _STALE.match(name)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def new_prefix() -> str:
    return f"{TEST_PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
