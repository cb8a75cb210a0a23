"""The ``%xmpp`` line magic and the ``%%thing`` cell magic: the lab from notebook cells.

``%load_ext xiotlab``, then ``%xmpp help``. Each subcommand is a small
function over a :class:`~xiotlab.faces.session.NotebookSession`; results are
objects with rich reprs (readouts, widgets), so they show and land in ``_``.
A user's mistake is a one-line :class:`~IPython.core.error.UsageError`.
Settings: ``%config XmppMagics.timeout = 5`` and the other traits below.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Float, Int, Unicode

from ..errors import LabNotRunning, XiotlabError
from ..protocol.provisioning import RuleRange
from ..protocol.values import NodeRef
from ..roles import Owner
from ..roles.readout import node_label
from ..runtime import network
from ..server import LabServer, prosody
from ..server.classroom import read_handout
from .session import NotebookSession, as_seconds, parse_tags, split_node
from .widgets.control_panel import ControlPanel
from .widgets.inspector import Inspector
from .widgets.live import stop_ui_thread
from .widgets.roster import Roster

# The parser below is the one description of the commands: `%xmpp help` and Tab completion read it.
OVERVIEW_FOOTER = """\
Short names are accounts on the lab (lamp is lamp@<lab domain>); lab accounts need no password.
JID[/NODE] names a thing, or a node of a concentrator: gateway/kitchen/fridge is node kitchen/fridge
of gateway (everything after the first slash: node ids may hold slashes; a resource is never typed
here). --node NODE says the same.
`%xmpp help COMMAND` explains a command's options."""

# Arguments that name a participant: Tab completes them with the JIDs this session knows.
JID_METAVARS = frozenset({"JID", "JID[/NODE]", "NAME_OR_JID", "NAME", "THING"})

TARGET = "JID[/NODE]"
TARGET_HELP = (
    "a thing, or a node of a concentrator: gateway/kitchen/fridge is node kitchen/fridge of gateway "
    "(all after the first slash is the node; never a resource)"
)

# Commands whose last argument is the rest of the line as typed: a claim URI or a search may hold
# quotes, backslashes, `#` and spaces that shell-like splitting would change.
VERBATIM = frozenset({"claim", "search"})


class _Formatter(argparse.HelpFormatter):
    """A fixed width: a notebook's output has no terminal to measure."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=100, max_help_position=30)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as a UsageError instead of exiting the kernel.

    It also keeps what was added to it (argparse has no public way to list that), for help and completion:
    ``arguments``, its own, and ``commands``, its subcommands' parsers by name, in the order added.
    """

    def __init__(self, prog: str | None = None, **kwargs: Any) -> None:
        self.arguments: list[argparse.Action] = []
        self.commands: dict[str, _Parser] = {}
        self._add_subparser: Callable[..., _Parser] | None = None
        kwargs.setdefault("add_help", False)  # `%xmpp help` instead of -h
        kwargs.setdefault("allow_abbrev", False)  # --pass must never be taken for --password-env
        super().__init__(prog, formatter_class=_Formatter, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.arguments.append(action)
        return action

    def add_command(self, name: str, summary: str) -> _Parser:
        """The parser of a new subcommand ``name``; ``summary`` is its line in `%xmpp help`."""
        if self._add_subparser is None:
            self._add_subparser = self.add_subparsers(dest="command", parser_class=_Parser).add_parser
        self.commands[name] = self._add_subparser(name, help=summary, description=summary)
        return self.commands[name]

    def options(self) -> dict[str, argparse.Action]:
        """The optional arguments by each of their spellings (``--as``)."""
        return {spelling: action for action in self.arguments for spelling in action.option_strings}

    def positionals(self) -> list[argparse.Action]:
        return [action for action in self.arguments if not action.option_strings]

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):  # the extra words might be a password: never echo them
            message = "unexpected extra words on the line"
        elif message.startswith(_REQUIRED):
            message = self._really_required(message)
        raise UsageError(f"{self.prog}: {message}. `%xmpp help` lists every command.")

    def _really_required(self, message: str) -> str:
        """argparse names optional positionals (``FIELD ...``) among the missing ones: leave them out."""
        optional = {action.metavar or action.dest for action in self.positionals() if action.nargs in ("*", "?")}
        missing = [name for name in message[len(_REQUIRED) :].split(", ") if name not in optional]
        return f"{_REQUIRED}{', '.join(missing)} (usage: {self.one_line_usage()})"

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or self.format_usage())

    def one_line_usage(self) -> str:
        """``%xmpp read [--category CATEGORY] JID [FIELD ...]``, unwrapped."""
        return " ".join(self.format_usage().split()[1:])  # without "usage:"


_REQUIRED = "the following arguments are required: "


def _build_parser() -> _Parser:
    parser = _Parser(prog="%xmpp")
    _add_lab_commands(parser)
    _add_friendship_commands(parser)
    _add_owner_commands(parser)
    _add_registry_commands(parser)
    inspect = parser.add_command("log", "the protocol inspector: every stanza sent and received, highlighted")
    inspect.add_argument("--peer", metavar="JID", help="show only stanzas to and from JID")
    inspect.add_argument("--namespace", metavar="NS", help="show only stanzas with a payload in NS")
    inspect.add_argument(
        "--limit", type=int, metavar="N", help="show at most N stanzas (default: XmppMagics.log_limit)"
    )
    ask = parser.add_command("help", "this overview, or one command's options")
    ask.add_argument("topic", nargs="?", choices=tuple(parser.commands), metavar="COMMAND")
    return parser


def _add_lab_commands(parser: _Parser) -> None:
    lab = parser.add_command("lab", "start or join the lab, stop it, or show where it runs")
    lab.add_argument("action", choices=("start", "stop", "status"))
    lab.add_argument(
        "--private", action="store_true", help="start: a lab for this kernel only, even if a shared one runs"
    )
    lab.add_argument("--shared", action="store_true", help="stop: also the persistent lab other notebooks share")
    connect = parser.add_command("connect", "bring an owner or a thing online and act as it")
    connect.add_argument("name", metavar="NAME_OR_JID", help="a lab account's name, or a full JID on another server")
    connect.add_argument(
        "--as", dest="role", choices=("owner", "thing"), default="owner", help="the role (default: %(default)s)"
    )
    connect.add_argument("--owner", metavar="JID", help="a thing's owner")
    connect.add_argument("--host", help="another server's host (its password: $XMPP_PASSWORD, or asked)")
    connect.add_argument("--port", type=int, help="another server's port")
    connect.add_argument("--ca-file", metavar="FILE", help="the authority that signed another server's certificate")
    connect.add_argument("--password-env", metavar="VAR", help="the environment variable holding the password")
    join = parser.add_command("join", "join a class server as the student a hand-out file names (password inside)")
    join.add_argument("file", metavar="FILE", help="the hand-out file your teacher gave you (studentNN.json)")
    join.add_argument(
        "--as", dest="role", choices=("owner", "thing"), default="owner", help="the role (default: %(default)s)"
    )
    disconnect = parser.add_command("disconnect", "take the current participant (or NAME) offline")
    disconnect.add_argument("name", nargs="?", metavar="NAME")


def _add_friendship_commands(parser: _Parser) -> None:
    parser.add_command("roster", "contacts with live presence (and an owner's pending requests)")
    befriend = parser.add_command("befriend", "ask for friendship and wait for the answer (a thing's owner decides)")
    befriend.add_argument("jid", metavar="JID")
    befriend.add_argument("--timeout", type=float, metavar="SECONDS", help="how long to wait for the answer")
    parser.add_command("requests", "requests waiting for this owner: to befriend, read or control a thing")
    for verb in ("approve", "reject"):
        decide = parser.add_command(
            verb, f"{verb} the oldest request from JID waiting for this owner (friend, read or control)"
        )
        decide.add_argument("jid", metavar="JID", help="who asked")
        decide.add_argument(
            "--range",
            choices=[r.value for r in RuleRange],
            default=RuleRange.CALLER.value,
            help="remember the decision for the caller only, its domain, or everyone (default: %(default)s)",
        )
        decide.add_argument("--kind", choices=("friend", "read", "control"), help="only a request of this kind")
        decide.add_argument("--thing", metavar="THING", help="only a request about this thing")
        if verb == "approve":
            decide.add_argument(
                "--fields", type=_names, action="extend", metavar="A,B", help="a read request: allow only these fields"
            )
            decide.add_argument(
                "--parameters",
                type=_names,
                action="extend",
                metavar="P,Q",
                help="a control request: allow only these parameters",
            )


def _add_target(command: _Parser) -> None:
    """The thing (or concentrator node) a command acts on: ``JID[/NODE]`` and ``--node NODE``."""
    command.add_argument("jid", metavar=TARGET, help=TARGET_HELP)
    command.add_argument("--node", metavar="NODE", help="a node of the concentrator JID (the same as JID/NODE)")


def _add_owner_commands(parser: _Parser) -> None:
    read = parser.add_command("read", "read a thing's (or a node's) fields now, as a table (and in `_`)")
    _add_target(read)
    read.add_argument("fields", nargs="*", metavar="FIELD")
    read.add_argument(
        "--category", action="append", dest="categories", metavar="CATEGORY", help="momentary, status, historical, ..."
    )
    subscribe = parser.add_command("subscribe", "a stream of a thing's (or a node's) values as they change")
    _add_target(subscribe)
    subscribe.add_argument("fields", nargs="*", metavar="FIELD")
    subscribe.add_argument("--change", type=float, metavar="DELTA", help="send a value only when it moved this much")
    subscribe.add_argument("--min-interval", metavar="TIME", help="gather values for this long (e.g. 1s)")
    subscribe.add_argument("--max-interval", metavar="TIME", help="a fresh readout when nothing changed (e.g. 1min)")
    plot = parser.add_command("plot", "a live plot of a thing's (or a node's) fields; asked again, the same figure")
    _add_target(plot)
    plot.add_argument("fields", nargs="+", metavar="FIELD")
    plot.add_argument("--window", help="what the x axis spans: 60s, 5min or 500points (default: XmppMagics.window)")
    set_ = parser.add_command("set", "set a thing's (or a node's) controls, typed by its form: %xmpp set lamp on=true")
    _add_target(set_)
    set_.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    panel = parser.add_command("panel", "a control panel made from the thing's (or a node's) control form")
    _add_target(panel)
    nodes = parser.add_command("nodes", "a concentrator's nodes as a tree: live values; read, plot, control a node")
    nodes.add_argument("jid", metavar="JID", help="the concentrator")


def _add_registry_commands(parser: _Parser) -> None:
    claim = parser.add_command("claim", "claim a thing by its claim code (iotdisco:...): it becomes yours and a friend")
    claim.add_argument("uri", metavar="URI", help="the claim code's text, as its QR code holds it")
    claim.add_argument("--private", action="store_true", help="others' searches will not find the thing")
    search = parser.add_command("search", "find things by their tags: MAN=Acme;MODEL~Therm*;#V>=1.0, or keywords")
    search.add_argument("query", metavar="QUERY", help="the rest of the line, as typed")
    parser.add_command("devices", "the things this owner owns, as the provisioning service knows them")
    disown = parser.add_command("disown", "give a thing up: it acknowledges and forgets you")
    disown.add_argument("jid", metavar="JID")
    remove = parser.add_command("remove", "take a thing of yours out of the registry (searches no longer find it)")
    remove.add_argument("jid", metavar="JID")
    delete = parser.add_command("delete-rules", "forget your decisions about others for a thing (default: all yours)")
    delete.add_argument("jid", nargs="?", metavar="JID")
    clear = parser.add_command("clear-cache", "have a thing (default: all yours) ask the provisioning service again")
    clear.add_argument("jid", nargs="?", metavar="JID")
    qr = parser.add_command("qr", "the claim code of a thing this notebook runs (%%thing NAME --tags ...), as QR")
    qr.add_argument("name", metavar="NAME")


def _names(text: str) -> list[str]:
    """``a,b`` as ``["a", "b"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _thing_parser() -> _Parser:
    parser = _Parser(
        prog="%%thing", description="the cell declares the thing's behaviour on `thing`; run it again to replace it."
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--owner", metavar="JID")
    parser.add_argument("--policy", choices=("deny", "accept"))
    parser.add_argument(
        "--tags",
        metavar="MAN=Acme,#V=1.0",
        help="no owner: the thing registers these tags and waits to be claimed (`%%xmpp qr NAME`); "
        "a # before a name makes its value a number",
    )
    return parser


def overview(parser: _Parser) -> str:
    """What `%xmpp help` prints: every command's usage and summary, from the parsers themselves."""
    magics = [*parser.commands.values(), _thing_parser()]
    entries = [f"{command.one_line_usage()}\n    {command.description}" for command in magics]
    return "\n".join([*entries, "", OVERVIEW_FOOTER])


@magics_class
class XmppMagics(Magics):
    """``%xmpp`` and ``%%thing``; configure with ``%config XmppMagics.<trait> = value``."""

    timeout = Float(10.0, help="Seconds any network operation may wait.").tag(config=True)
    home = Unicode(None, allow_none=True, help="The persistent lab's home (default $XIOTLAB_HOME or ~/.xiotlab).").tag(
        config=True
    )
    window = Unicode("60s", help="What `%xmpp plot` shows by default: a time (60s, 5min) or a count (500points).").tag(
        config=True
    )
    log_limit = Int(200, help="How many stanzas `%xmpp log` shows at most.").tag(config=True)
    password_env = Unicode(
        "XMPP_PASSWORD",
        help="The environment variable a password for a non-lab server is read "
        "from; without it, `connect` asks with getpass.",
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs) -> None:
        super().__init__(shell, **kwargs)
        self.session = NotebookSession(home=self.home, timeout=self.timeout)
        self.observe(lambda change: self.session.set_timeout(change["new"]), names=["timeout"])
        self.observe(lambda change: setattr(self.session, "home", change["new"]), names=["home"])
        self._parser = _build_parser()

    # --- the magics ----------------------------------------------------------------

    @line_magic
    def xmpp(self, line: str):
        """Act in the lab from a cell: ``%xmpp help`` lists the commands."""
        args = self._parser.parse_args(self._split(line))
        if args.command in (None, "help"):
            print(self._help(args.topic if args.command else None))
            return None
        return self._run(getattr(self, f"_{args.command.replace('-', '_')}"), args)

    def _split(self, line: str) -> list[str]:
        """The words of ``line``; a VERBATIM command's last argument is the rest of the line as typed."""
        command, _, rest = line.strip().partition(" ")
        if command not in VERBATIM:
            return _words(line)
        flags = {spelling for spelling, action in self._parser.commands[command].options().items() if action.nargs == 0}
        words = rest.split()
        options = []
        while words and words[0] in flags:
            options.append(words.pop(0))
        while words and words[-1] in flags:
            options.append(words.pop())
        text = " ".join(words) if options else rest.strip()
        if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]  # pasted in quotes
        return [command, *options, "--", text] if text else [command, *options]

    def _help(self, command: str | None) -> str:
        return self._parser.commands[command].format_help() if command else overview(self._parser)

    @cell_magic
    def thing(self, line: str, cell: str):
        """``%%thing NAME``: the cell declares a thing's sensors, controls and timers on ``thing``.

        The thing comes online with them (owned by this session's owner unless ``--owner``);
        running the cell again replaces its behaviour without taking it offline.
        """
        args = _thing_parser().parse_args(_words(line))
        options: dict[str, Any] = {k: v for k, v in (("owner", args.owner), ("policy", args.policy)) if v}
        if args.tags is not None:
            options["tags"] = self._run(parse_tags, args.tags)
        thing = self._run(lambda: self.session.thing(args.name, **options))
        thing.forget()
        self._shell.user_ns["thing"] = thing
        result = self._run_quietly(cell)
        if not result.success:
            print(f"{thing.jid} now has only what the cell declared before the error; fix it and run the cell again.")
            return None
        if not thing.online:
            self._run(thing.start)
            if args.tags is not None:
                print(f"{thing.jid} has no owner yet: `%xmpp qr {args.name}` shows the code that claims it.")
        return thing

    def _run_quietly(self, cell: str):
        """Run ``cell`` in the user's namespace without showing its last value (a decorator's function)."""
        shell = self._shell
        saved, shell.ast_node_interactivity = shell.ast_node_interactivity, "none"
        try:
            return shell.run_cell(cell, store_history=False)
        finally:
            shell.ast_node_interactivity = saved

    @property
    def _shell(self) -> InteractiveShell:
        if self.shell is None:  # only made without one by hand: %load_ext always passes its shell
            raise RuntimeError("XmppMagics needs an IPython shell to run cells in.")
        return self.shell

    def _run(self, action, *args):
        """Do ``action``; what goes wrong because of the user's input becomes a one-line UsageError."""
        had_lab = self.session.lab is not None
        try:
            return action(*args)
        except (XiotlabError, ValueError, LookupError, OSError) as e:
            raise UsageError(_one_line(e)) from None
        finally:
            if not had_lab and self.session.lab is not None and not self.session.lab.persistent:
                print(
                    "No shared lab runs, so this kernel started a private one: other notebooks cannot "
                    "join it. `bin/lab` (or `xiotlab server start`) runs the shared lab."
                )

    # --- subcommands ---------------------------------------------------------------

    def _lab(self, args):
        if args.action == "start":
            return self.session.start_lab(private=args.private)
        if args.action == "stop":
            lab = self.session.stop_lab(shared=args.shared)
            print(f"Stopped {lab.domain}; its participants in this notebook went offline.")
            return None
        if self.session.lab is None:
            print("No lab in this session: `%xmpp lab start` starts or joins one.")
            return None
        for participant in self.session.participants.values():
            print(f"{participant.jid}: {participant.connection.words}")
        return self.session.lab

    def _connect(self, args):
        options = {}
        if self._elsewhere(args):
            options = dict(host=args.host, port=args.port, ca_file=args.ca_file, password=self._password(args))
        if args.owner and args.role == "thing":
            options["owner"] = args.owner
        return self.session.connect(args.name, args.role, **options)

    def _join(self, args):
        # The password goes from the file to the participant: never to the notebook, the line or a repr.
        handout = read_handout(args.file)
        where = dict(host=handout.address, port=handout.port, ca_file=handout.ca_file)
        return self.session.connect(handout.jid, args.role, password=handout.password, **where)

    def _elsewhere(self, args) -> bool:
        """Whether ``connect`` goes to another server than the lab (and so needs a password)."""
        if args.host:
            return True
        if "@" not in args.name:
            return False
        lab = self.session.lab
        if lab is None:
            try:
                lab = LabServer.running(self.session.home)
            except LabNotRunning:
                return True  # no lab to compare with: a full JID names another server
        return args.name.split("@")[1].split("/")[0] != lab.domain

    def _password(self, args) -> str:
        variable = args.password_env or self.password_env
        password = os.environ.get(variable)
        if password:
            return password
        return getpass.getpass(f"Password for {args.name} (or set ${variable}): ")

    def _disconnect(self, args):
        participant = self.session.disconnect(args.name)
        print(f"{participant.jid} is offline.")

    def _roster(self, args):
        participant = self.session.need_current()
        return self.session.widget(("roster", participant.jid), lambda: Roster(participant))

    def _requests(self, args):
        return self.session.need_owner("decide requests").requests

    def _befriend(self, args):
        participant = self.session.need_current()
        participant.befriend(args.jid, timeout=args.timeout)
        return participant.roster.get(participant.resolve(args.jid))

    def _approve(self, args):
        request = self.session.decide(
            args.jid, True, args.range, kind=args.kind, thing=args.thing, fields=args.fields, parameters=args.parameters
        )
        parts = args.fields or args.parameters
        print(f"Approved: {_described(request, parts)} ({args.range}).")

    def _reject(self, args):
        request = self.session.decide(args.jid, False, args.range, kind=args.kind, thing=args.thing)
        print(f"Rejected: {_described(request)} ({args.range}).")

    # --- the registry and the provisioning service ---------------------------------

    def _claim(self, args):
        owner = self.session.need_owner("claim a thing")
        return owner.claim(args.uri, public=not args.private)

    def _search(self, args):
        return self.session.need_owner("search the registry").search(args.query)

    def _devices(self, args):
        return self.session.need_owner("list its devices").devices()

    def _disown(self, args):
        self.session.need_owner("disown a thing").disown(args.jid)
        print(f"{self.session.resolve(args.jid)} is no longer yours.")

    def _remove(self, args):
        self.session.need_owner("remove a thing from the registry").remove(args.jid)
        print(f"{self.session.resolve(args.jid)} is out of the registry; it is still yours.")

    def _delete_rules(self, args):
        self.session.need_owner("delete rules").delete_rules(args.jid)
        which = self.session.resolve(args.jid) if args.jid else "all your things"
        print(f"Forgot your decisions for {which}: the next request from others asks you again.")

    def _clear_cache(self, args):
        self.session.need_owner("clear a thing's cache").clear_cache(args.jid)
        which = self.session.resolve(args.jid) if args.jid else "all your things"
        print(f"Asked {which} to forget the provisioning service's answers.")

    def _qr(self, args):
        return self.session.claim_code(args.name)

    def _target(self, args, action: str) -> tuple[str, NodeRef | None]:
        """The JID and node (checked against the concentrator's nodes) that ``JID[/NODE]``/``--node`` name."""
        self.session.need_owner(action)
        jid, node = split_node(args.jid, args.node)
        return jid, self.session.node(jid, node)

    def _read(self, args):
        owner = self.session.need_owner("read a thing")
        jid, node = self._target(args, "read a thing")
        return owner.read(jid, args.fields or None, categories=args.categories, nodes=node)

    def _subscribe(self, args):
        jid, node = self._target(args, "subscribe to a thing")
        return self.session.subscribe(
            jid,
            args.fields,
            change=args.change,
            min_interval=as_seconds(args.min_interval),
            max_interval=as_seconds(args.max_interval),
            nodes=node,
        )

    def _plot(self, args):
        jid, node = self._target(args, "plot a thing's values")
        return self.session.plot(jid, args.fields, window=args.window or self.window, node=node)

    def _set(self, args):
        assignments = {}
        for item in args.assignments:
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise UsageError(f"{item!r}: write each value as NAME=VALUE, e.g. %xmpp set lamp on=true")
            assignments[name] = value
        jid, node = self._target(args, "set controls")
        values = self.session.typed_values(jid, assignments, node)
        self.session.need_owner("set controls").set(jid, values, node=node)
        whose = self.session.resolve(jid) + (f" node {node_label(node)}" if node else "")
        print(f"{whose}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))

    def _panel(self, args):
        owner = self.session.need_owner("control a thing")
        target, node = self._target(args, "control a thing")
        jid = self.session.resolve(target)
        return self.session.widget(("panel", owner.jid, jid, node), lambda: ControlPanel(owner, jid, node=node))

    def _nodes(self, args):
        return self.session.nodes(args.jid)

    def _log(self, args):
        participant = self.session.need_current()
        limit = self.log_limit if args.limit is None else args.limit
        inspector = self.session.widget(("log", participant.jid), lambda: Inspector(participant, limit=limit))
        if args.peer:
            inspector.filter(peer=self.session.resolve(args.peer))
        if args.namespace:
            inspector.filter(namespace=args.namespace)
        return inspector

    # --- completion ----------------------------------------------------------------

    def complete(self, text: str, line: str) -> list[str]:
        """Completions of the word ``text`` at the end of a ``%xmpp`` ``line``, read from the parser."""
        words = line.split()[1:]
        if line.endswith(" "):
            words.append("")
        typed = words[:-1]  # the words before the one being completed
        commands = self._parser.commands
        if not typed:
            return _starting_with(text, commands)
        command = commands.get(typed[0])
        if command is None:
            return []
        if text.startswith("-"):
            return _starting_with(text, command.options())
        argument = _argument_after(command, typed[1:])
        if argument is None:
            return []
        if argument.choices is not None:
            return _starting_with(text, map(str, argument.choices))
        return _starting_with(text, self._known_jids()) if argument.metavar in JID_METAVARS else []

    def _known_jids(self) -> list[str]:
        session, names = self.session, set(self.session.participants)
        for participant in session.participants.values():
            names.update(participant.roster)
        if isinstance(session.current, Owner):
            names.update(r.requester for r in session.current.requests)
        if session.lab is not None:
            names.update(session.lab.accounts())
            domain = "@" + session.lab.domain
            names.update(n[: -len(domain)] for n in list(names) if n.endswith(domain))
        return sorted(names)


def _starting_with(text: str, candidates: Iterable[str]) -> list[str]:
    return [c for c in candidates if c.startswith(text)]


def _argument_after(parser: _Parser, words: list[str]) -> argparse.Action | None:
    """The argument of ``parser`` that the word after ``words`` fills: an option's value, or a positional."""
    options = parser.options()
    filled, awaiting_value = 0, None
    for word in words:
        if awaiting_value is not None:
            awaiting_value = None
        elif word in options:
            awaiting_value = options[word] if options[word].nargs != 0 else None
        elif not word.startswith("-"):
            filled += 1
    if awaiting_value is not None:
        return awaiting_value
    for positional in parser.positionals():
        if positional.nargs in ("*", "+") or filled == 0:  # a list takes every word left
            return positional
        filled -= 1
    return None


def _words(line: str) -> list[str]:
    """The words of a magic line; a password on it is refused before anything could echo it."""
    try:
        words = shlex.split(line)
    except ValueError as e:  # unbalanced quotes
        raise UsageError(f"{e}: check the quotes.") from None
    if any(_looks_like_password_option(word) for word in words):
        raise UsageError(
            "Passwords never go on a magic line (notebooks save it): set $XMPP_PASSWORD "
            "(or --password-env VAR), or leave it out and you will be asked for it."
        )
    return words


def _looks_like_password_option(word: str) -> bool:
    option = word.split("=")[0]
    short = option.startswith("-p") and not option.startswith("--")  # -p, -psecret
    return option != "--password-env" and (short or option.startswith(("--pass", "--pw")))


def _described(request, parts=None) -> str:
    """``bob@lab wants to read temperature of thermometer@lab``, for what the magics print."""
    asked = f" {', '.join(parts or request.parts)} of" if request.kind != "friend" and (parts or request.parts) else ""
    return f"{request.requester} to {request.wants}{asked} {request.thing}"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


def load_ipython_extension(shell) -> None:
    """``%load_ext xiotlab``: register ``%xmpp`` and ``%%thing`` and their tab completion."""
    magics = XmppMagics(shell)
    shell.register_magics(magics)
    shell.set_hook("complete_command", lambda _, event: magics.complete(event.symbol, event.line), str_key="%xmpp")


def unload_ipython_extension(shell) -> None:
    """``%unload_ext xiotlab``: take this notebook's participants offline, and end the threads load started.

    The session's participants go offline and a private lab stops. Then the
    threads go, each unless something of the user's still needs it: the UI
    thread (a widget made in Python starts it again when it next redraws), the network
    thread with its worker threads (kept while anything else runs on it, such
    as participants made in Python and still online; its idle workers end
    anyway), and the thread that starts lab servers (kept while a server it
    started for this process runs: the server would die with it).
    """
    magics = shell.magics_manager.registry.get("XmppMagics")
    if magics is None:
        return
    session = magics.session
    if session.lab_is_ours and session.lab is not None:
        session.stop_lab()  # a private lab would otherwise outlive the session that knew it
    else:
        session.disconnect_all()
    stop_ui_thread()
    network.release_idle()
    prosody.release_spawner()
