"""The ``xiotlab`` command: run the persistent lab server and manage its accounts.

    xiotlab server start      run a lab in the background under the lab home, with its
                              thing registry and provisioning service
    xiotlab server status     where it listens, which accounts and services it has
    xiotlab server stop       stop it
    xiotlab server restart    stop it and start it again, same domain and port
    xiotlab server start --listen ADDRESS --domain NAME [--federate]
                              a class server students reach at ADDRESS, or a lab that
                              federates with other labs (server-to-server on ADDRESS:5269)
    xiotlab server trust CA_FILE --domain D --address A
                              trust the federating lab D at address A, whose CA is CA_FILE
    xiotlab account add NAME  create an account (its password stays in the lab home)
    xiotlab account list      list the accounts
    xiotlab mqtt start        run the lab's MQTT broker (mosquitto, loopback only) in the
                              background under the lab home
    xiotlab mqtt status       where it listens (its mqtt:// URL)
    xiotlab mqtt stop         stop it
    xiotlab class add 30      create student01..student30 and a hand-out file for each (mode
                              0600, in the lab home's handout folder; passwords never printed)
    xiotlab class list        the students and their hand-out files

The lab home is ``$XIOTLAB_HOME`` or ``~/.xiotlab``; ``--home`` overrides it.
Kernels and scripts join the running lab with ``LabServer.running()``.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import LabNotRunning, XiotlabError
from ..server import DEFAULT_DOMAIN, LabServer, classroom, default_home
from ..server.lab import DEFAULT_HOST, ENGINES
from ..server.mosquitto import Broker


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (XiotlabError, ValueError) as e:
        print(f"xiotlab: {e}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xiotlab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help=f"lab home (default: $XIOTLAB_HOME or {default_home()})")
    commands = parser.add_subparsers(title="commands", required=True, metavar="{server,account,mqtt,class}")

    server = commands.add_parser("server", help="start, stop or inspect the persistent lab server")
    server_commands = server.add_subparsers(required=True, metavar="{start,stop,restart,status}")
    start = server_commands.add_parser("start", help="run the lab server in the background")
    start.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    start.add_argument("--domain", default=DEFAULT_DOMAIN, help="XMPP domain of the lab (default: %(default)s)")
    start.add_argument(
        "--listen", metavar="ADDRESS", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    start.add_argument(
        "--federate", action="store_true", help="talk to the labs it trusts, server-to-server on ADDRESS:5269"
    )
    start.add_argument(
        "--engine", choices=ENGINES, default="prosody", help="the XMPP server the lab runs (default: %(default)s)"
    )
    start.add_argument("--nodes", type=int, default=1, help="ejabberd nodes joined in a cluster (default: 1)")
    start.set_defaults(run=_server_start)
    trust = server_commands.add_parser("trust", help="trust another federating lab (its CA, domain and address)")
    trust.add_argument("ca_file", metavar="CA_FILE", help="the other lab's certificate authority (its certs/ca.pem)")
    trust.add_argument("--domain", required=True, help="the other lab's XMPP domain")
    trust.add_argument("--address", required=True, help="the other lab's address (where it listens)")
    trust.set_defaults(run=_server_trust)
    server_commands.add_parser("stop", help="stop the lab server").set_defaults(run=_server_stop)
    restart = server_commands.add_parser(
        "restart", help="stop the lab server and start it again (same domain and port: participants come back)"
    )
    restart.set_defaults(run=_server_restart)
    status = server_commands.add_parser("status", help="show where the lab runs")
    status.add_argument("--json", action="store_true", help="print machine-readable JSON")
    status.set_defaults(run=_server_status)

    account = commands.add_parser("account", help="manage the lab's accounts")
    account_commands = account.add_subparsers(required=True, metavar="{add,list}")
    add = account_commands.add_parser("add", help="create an account (the password is never printed)")
    add.add_argument("name", nargs="+", help="account name(s), e.g. lamp alice")
    add.set_defaults(run=_account_add)
    account_commands.add_parser("list", help="list the accounts").set_defaults(run=_account_list)

    mqtt = commands.add_parser("mqtt", help="start, stop or inspect the lab's MQTT broker")
    mqtt_commands = mqtt.add_subparsers(required=True, metavar="{start,stop,status}")
    mqtt_start = mqtt_commands.add_parser("start", help="run the MQTT broker in the background (loopback only)")
    mqtt_start.add_argument("--port", type=int, help="port to listen on (default: the last one, else a free one)")
    mqtt_start.set_defaults(run=_mqtt_start)
    mqtt_commands.add_parser("stop", help="stop the MQTT broker").set_defaults(run=_mqtt_stop)
    mqtt_status = mqtt_commands.add_parser("status", help="show where the MQTT broker listens")
    mqtt_status.add_argument("--json", action="store_true", help="print machine-readable JSON")
    mqtt_status.set_defaults(run=_mqtt_status)
    _add_class_commands(commands)
    return parser


def _add_class_commands(commands) -> None:
    klass = commands.add_parser("class", help="a class server's student accounts and their hand-outs")
    class_commands = klass.add_subparsers(required=True, metavar="{add,list}")
    add = class_commands.add_parser("add", help="create student accounts and a hand-out file for each")
    add.add_argument("count", type=int, help="how many students")
    add.add_argument(
        "--prefix", default="student", help="account names: PREFIX01, PREFIX02, ... (default: %(default)s)"
    )
    add.add_argument("--address", help="the address students reach the lab at (default: where it listens)")
    add.set_defaults(run=_class_add)
    class_commands.add_parser("list", help="the students and their hand-out files").set_defaults(run=_class_list)


def _home(args) -> str:
    return args.home or str(default_home())


def _server_start(args) -> None:
    if args.nodes != 1 and args.engine != "ejabberd":  # said as a command line says it, not as Python
        raise ValueError(f"A cluster of {args.nodes} nodes runs on ejabberd only: add `--engine ejabberd`.")
    lab = LabServer(
        _home(args), domain=args.domain, host=args.listen, port=args.port, federation=args.federate, detach=True,
        engine=args.engine, nodes=args.nodes,
    ).start()  # fmt: skip
    _print_started(lab)


def _print_started(lab: LabServer) -> None:
    on = "" if lab.engine == "prosody" else f" on {lab.engine}" + (f", {lab.nodes} nodes" if lab.nodes > 1 else "")
    print(f"lab {lab.domain} running{on} on {lab.host}:{lab.port} (pid {lab.pid}), home {lab.home}")
    if lab.federation:
        print(f"federating on {lab.host}:5269; trust a lab: `xiotlab server trust CA_FILE --domain D --address A`")
    print("join it from Python with `LabServer.running()`; stop it with `xiotlab server stop`")
    stale = sorted({row["port"] for row in classroom.students(lab)} - {str(lab.port)})
    if stale:  # the lab keeps its port unless another program took it meanwhile
        note = f"the students' hand-outs name port {', '.join(stale)}, taken by another program meanwhile"
        print(f"xiotlab: note: {note}: once it is free, start the lab with `--port {stale[0]}`", file=sys.stderr)


def _server_restart(args) -> None:
    try:
        lab = LabServer.restart(_home(args))
    except LabNotRunning:
        print(f"no lab server runs under {_home(args)}; starting one")
        lab = LabServer(_home(args), detach=True).start()
    _print_started(lab)


def _server_stop(args) -> None:
    try:
        lab = LabServer.running(_home(args))
    except LabNotRunning:
        print(f"no lab server runs under {_home(args)}")
        return
    lab.stop()
    print(f"stopped the lab server under {lab.home}")


def _server_status(args) -> int:
    try:
        status = LabServer.running(_home(args)).status()
    except LabNotRunning as e:
        status = {"running": False, "home": _home(args), "message": str(e)}
    if args.json:
        print(json.dumps(status, indent=1))
    elif status["running"]:
        print(f"running: {status['domain']} on {status['host']}:{status['port']} (pid {status['pid']})")
        print(f"home: {status['home']}")
        print(f"accounts: {', '.join(status['accounts']) or 'none'}")
        for name, service in status["services"].items():
            print(f"{name}: {service['jid']} ({service['running']})")
        if status["mqtt"]["running"]:
            print(f"mqtt: {status['mqtt']['url']} (pid {status['mqtt']['pid']})")
        if status.get("federation") is not None:
            trusted = [f"{p['domain']} at {p['address']}" for p in status["federation"]["trusted"]]
            print(f"federation: on {status['host']}:5269, trusting {', '.join(trusted) or 'no lab yet'}")
    else:
        print(status["message"])
    return 0 if status["running"] else 3


def _server_trust(args) -> None:
    try:
        lab = LabServer.running(_home(args))
    except LabNotRunning:  # a stopped persistent lab records the trust; it takes effect at its start
        lab = LabServer(_home(args), federation=True)
    peer = lab.trust(args.ca_file, domain=args.domain, address=args.address)
    print(f"trusting {peer.domain} at {peer.address}" + (" (the running lab reloaded)" if lab.is_running else ""))


def _class_add(args) -> None:
    lab = LabServer.running(_home(args))
    paths = classroom.add_students(lab, args.count, prefix=args.prefix, address=args.address)
    note = classroom.loopback_note(args.address or lab.host)
    if note:
        print(f"xiotlab: note: {note}", file=sys.stderr)
    first, last = paths[0].stem, paths[-1].stem
    print(f"{len(paths)} students ({first} to {last}) on {lab.domain} at {args.address or lab.host}:{lab.port}")
    print(f"hand-outs (mode 0600, one per student, passwords inside): {paths[0].parent}")
    print(f"index without passwords: {paths[0].parent / classroom.INDEX}")
    print("a student joins from a notebook with `%xmpp join FILE`")


def _class_list(args) -> None:
    rows = classroom.students(LabServer.running(_home(args)))
    if not rows:
        print("no students yet: `xiotlab class add 30` creates thirty")
    for row in rows:
        print(f"{row['jid']}  {row['file']}  ({row['address']}:{row['port']})")


def _account_add(args) -> None:
    lab = LabServer.running(_home(args))
    for name in args.name:
        print(f"{lab.account(name).jid} (password kept in {lab.accounts_file})")


def _account_list(args) -> None:
    for jid in LabServer.running(_home(args)).accounts():
        print(jid)


def _mqtt_start(args) -> None:
    running = Broker.running(_home(args))
    if running is not None:
        print(f"the MQTT broker already runs at {running.url} (pid {running.pid})")
        return
    broker = Broker(_home(args), port=args.port, detach=True).start()
    print(f"MQTT broker running at {broker.url} (pid {broker.pid}), home {broker.files.home}")
    print("Python: `LabServer.running().mqtt_url`; stop it with `xiotlab mqtt stop`")


def _mqtt_stop(args) -> None:
    broker = Broker.running(_home(args))
    if broker is None:
        print(f"no MQTT broker runs under {_home(args)}")
        return
    broker.stop()
    print(f"stopped the MQTT broker under {_home(args)}")


def _mqtt_status(args) -> int:
    broker = Broker.running(_home(args))
    status = broker.status() if broker else {"running": False, "url": None, "pid": None}
    status["home"] = _home(args)
    if args.json:
        print(json.dumps(status, indent=1))
    elif broker is not None:
        print(f"running: {status['url']} (pid {status['pid']})")
        print(f"home: {status['home']}")
    else:
        print(f"no MQTT broker runs under {_home(args)}; start one with `xiotlab mqtt start`")
    return 0 if status["running"] else 3


if __name__ == "__main__":
    sys.exit(main())
