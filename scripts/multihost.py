"""fitq on several hosts on this machine, left running to explore (root only): each host a
Linux network namespace with its own address, hostname and folders, joined by a bridge in a
namespace of its own; the machine's own network is not touched. The same layout as the
multi-host test (tests/e2e/test_multihost.py), from tests/multihost/.

    .venv/bin/python scripts/multihost.py up [--store database|local] [--port 8077]
    .venv/bin/python scripts/multihost.py status
    .venv/bin/python scripts/multihost.py kill w1      # pull w1's cable, kill its processes
    .venv/bin/python scripts/multihost.py revive w1    # plug it back, start a fresh worker
    .venv/bin/python scripts/multihost.py down

Hosts: db 10.77.0.10 (PostgreSQL :5432, Redis :6379), api 10.77.0.20 (:8000), workers w1
10.77.0.31 and w2 10.77.0.32, client 10.77.0.2 (carries the API's port and PostgreSQL's out
to 127.0.0.1). Folders, logs and the state under /tmp/fitq-hosts/<host>/. A command on a host:
`ip netns exec fitq-hosts-w1 ...`.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.multihost.cluster import STORES, WORKERS, Cluster, Ports
from tests.multihost.network import delete_namespaces, namespaces, pids_of, why_not_usable

PREFIX = "fitq-hosts"
FOLDER = Path(tempfile.gettempdir()) / PREFIX
STATE = FOLDER / "state.json"


def up(store: str, port: int) -> None:
    if ours() or FOLDER.exists():
        sys.exit(f"{PREFIX} is up already (or was left behind): run `down` first")
    FOLDER.mkdir(mode=0o755)
    FOLDER.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    cluster = Cluster(FOLDER, PREFIX, store, ports=Ports(api=port))
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(FOLDER, ignore_errors=True)
        raise
    cluster.save_state(STATE)
    print(summary(cluster.state()))


def summary(state: dict[str, object]) -> str:
    hosts = state["hosts"]
    assert isinstance(hosts, dict)
    lines = [f"{name:7} {ns:20} {address:11} {hostname}"
             for name, (ns, address, hostname) in hosts.items()]  # fmt: skip
    return "\n".join([
        f"API:         http://127.0.0.1:{state['api_port']} "
        f"(the api host's http://{hosts['api'][1]}:8000)",
        f"API key:     {state['token']}",
        f"PostgreSQL:  postgresql://postgres@127.0.0.1:{state['postgres_port']}/fitq",
        f"store:       {state['store']}; folders and logs under {state['root']}/<host>",
        "", "host    namespace            address     hostname", *lines, "",
        f"try:  FITQ_URL=http://127.0.0.1:{state['api_port']} FITQ_API_KEY={state['token']} "
        "fitq submit examples/circles_dropout.json --watch",
    ])  # fmt: skip


def load() -> Cluster:
    if not STATE.exists():
        sys.exit(f"{PREFIX} is not up (no {STATE})")
    state = json.loads(STATE.read_text())
    cluster = Cluster(Path(state["root"]), state["prefix"], state["store"])
    cluster.ports = Ports(state["api_port"], state["postgres_port"])
    cluster.token = state["token"]
    return cluster


def status() -> None:
    cluster = load()
    print(summary(cluster.state()))
    print()
    present = set(namespaces())
    for host in cluster.network.hosts.values():
        alive = len(pids_of(host.namespace)) if host.namespace in present else "no namespace"
        print(f"{host.name:7} processes: {alive}")


def kill(host: str) -> None:
    load().kill_host(host)
    print(f"{host}: cable pulled, every process killed")


def revive(host: str) -> None:
    cluster = load()
    cluster.network.set_link(host, up=True)
    cluster.start_worker(host)
    print(f"{host}: plugged in, a fresh worker is ready")


def down() -> None:
    delete_namespaces(sorted(ours(), key=lambda name: name.endswith("-net")))
    shutil.rmtree(FOLDER, ignore_errors=True)
    print(f"{PREFIX}: every host's processes killed, namespaces and {FOLDER} deleted")


def ours() -> list[str]:
    return [name for name in namespaces() if name.startswith(f"{PREFIX}-")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="build the hosts and start fitq on them")
    start.add_argument("--store", choices=STORES, default="database")
    start.add_argument("--port", type=int, default=8077, help="the API on 127.0.0.1")
    commands.add_parser("status", help="addresses, the API key, processes per host")
    for name in ("kill", "revive"):
        commands.add_parser(name).add_argument("host", choices=WORKERS)
    commands.add_parser("down", help="kill everything, delete the namespaces and folders")
    args = parser.parse_args()
    problem = why_not_usable()
    if problem:
        sys.exit(problem)
    match args.command:
        case "up":
            up(args.store, args.port)
        case "status":
            status()
        case "kill":
            kill(args.host)
        case "revive":
            revive(args.host)
        case "down":
            down()


if __name__ == "__main__":
    main()
