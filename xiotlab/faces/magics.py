"""The ``%xmpp`` line magic and the ``%%thing`` cell magic: the lab from notebook cells.

``%load_ext xiotlab``, then ``%xmpp help``. Each subcommand is a small
function over a :class:`~xiotlab.faces.session.NotebookSession`; results are
objects with rich reprs (readouts, widgets), so they show and land in ``_``.
A user's mistake is a one-line :class:`~IPython.core.error.UsageError`.
Settings: ``%config XmppMagics.timeout = 5`` and the other traits below.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import importlib
import os
import shlex
import threading

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Float, Int, Unicode

from ..errors import LabNotRunning, XiotlabError
from ..protocol.provisioning import RuleRange
from ..roles import Owner
from ..server import LabServer
from .session import NotebookSession, as_seconds
from .widgets.control_panel import ControlPanel
from .widgets.inspector import Inspector
from .widgets.roster import Roster

HELP = """\
%xmpp lab start [--private] | lab stop [--shared] | lab status
%xmpp connect NAME_OR_JID --as owner|thing [--owner JID] [--host H --port P --ca-file F --password-env VAR]
%xmpp disconnect [NAME]        take the current participant (or NAME) offline
%xmpp roster                   contacts with live presence (and an owner's pending requests)
%xmpp befriend JID [--timeout S]   ask for friendship; waits for the answer (a thing's owner decides)
%xmpp requests                 pending friend requests for an owner to decide
%xmpp approve JID [--range Caller|Domain|All] | reject JID [--range ...]
%xmpp read JID [FIELD ...] [--category momentary|status|historical|...]
%xmpp subscribe JID [FIELD ...] [--change X] [--min-interval 1s] [--max-interval 1min]
%xmpp plot JID FIELD [FIELD ...] [--window 60s|500points]
%xmpp set JID NAME=VALUE ...    e.g. %xmpp set lamp on=true brightness=40
%xmpp panel JID                a control panel made from the thing's control form
%xmpp log [--peer JID] [--namespace NS] [--limit N]    the protocol inspector
%xmpp help

%%thing NAME [--owner JID] [--policy deny|accept]
    the cell declares the thing's behaviour on `thing`; run it again to replace it.

Short names are accounts on the lab (lamp is lamp@<lab domain>); lab accounts need no password.
"""

class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as a UsageError instead of exiting the kernel."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments"):  # the extra words might be a password: never echo them
            message = "unexpected extra words on the line"
        raise UsageError(f"{self.prog}: {message}. `%xmpp help` lists every command.")

    def exit(self, status: int = 0, message: str | None = None):
        raise UsageError(message or self.format_usage())


def _build_parser() -> _Parser:
    parser = _Parser(prog="%xmpp", add_help=False, allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", parser_class=functools.partial(_Parser, allow_abbrev=False))
    lab = sub.add_parser("lab", add_help=False)
    lab.add_argument("action", choices=("start", "stop", "status"))
    lab.add_argument("--private", action="store_true", help="a lab for this kernel only, even if a shared one runs")
    lab.add_argument("--shared", action="store_true", help="also stop the persistent lab other notebooks share")
    connect = sub.add_parser("connect", add_help=False)
    connect.add_argument("name")
    connect.add_argument("--as", dest="role", choices=("owner", "thing"), default="owner")
    connect.add_argument("--owner")
    connect.add_argument("--host")
    connect.add_argument("--port", type=int)
    connect.add_argument("--ca-file")
    connect.add_argument("--password-env")
    sub.add_parser("disconnect", add_help=False).add_argument("name", nargs="?")
    sub.add_parser("roster", add_help=False)
    sub.add_parser("requests", add_help=False)
    befriend = sub.add_parser("befriend", add_help=False)
    befriend.add_argument("jid")
    befriend.add_argument("--timeout", type=float)
    for verb in ("approve", "reject"):
        decide = sub.add_parser(verb, add_help=False)
        decide.add_argument("jid")
        decide.add_argument("--range", choices=[r.value for r in RuleRange], default=RuleRange.CALLER.value)
    read = sub.add_parser("read", add_help=False)
    read.add_argument("jid")
    read.add_argument("fields", nargs="*")
    read.add_argument("--category", action="append", dest="categories")
    subscribe = sub.add_parser("subscribe", add_help=False)
    subscribe.add_argument("jid")
    subscribe.add_argument("fields", nargs="*")
    subscribe.add_argument("--change", type=float)
    subscribe.add_argument("--min-interval")
    subscribe.add_argument("--max-interval")
    plot = sub.add_parser("plot", add_help=False)
    plot.add_argument("jid")
    plot.add_argument("fields", nargs="+")
    plot.add_argument("--window")
    set_ = sub.add_parser("set", add_help=False)
    set_.add_argument("jid")
    set_.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    sub.add_parser("panel", add_help=False).add_argument("jid")
    log = sub.add_parser("log", add_help=False)
    log.add_argument("--peer")
    log.add_argument("--namespace")
    log.add_argument("--limit", type=int)
    sub.add_parser("help", add_help=False)
    parser.subcommands = tuple(sub.choices)
    return parser


def _thing_parser() -> _Parser:
    parser = _Parser(prog="%%thing", add_help=False, allow_abbrev=False)
    parser.add_argument("name")
    parser.add_argument("--owner")
    parser.add_argument("--policy", choices=("deny", "accept"))
    return parser


@magics_class
class XmppMagics(Magics):
    """``%xmpp`` and ``%%thing``; configure with ``%config XmppMagics.<trait> = value``."""

    timeout = Float(10.0, help="Seconds any network operation may wait.").tag(config=True)
    home = Unicode(None, allow_none=True, help="The persistent lab's home (default $XIOTLAB_HOME or ~/.xiotlab).").tag(
        config=True)
    window = Unicode("60s", help="What `%xmpp plot` shows by default: a time (60s, 5min) or a count (500points).").tag(
        config=True)
    log_limit = Int(200, help="How many stanzas `%xmpp log` shows at most.").tag(config=True)
    password_env = Unicode("XMPP_PASSWORD", help="The environment variable a password for a non-lab server is read "
                                                 "from; without it, `connect` asks with getpass.").tag(config=True)

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
        args = self._parser.parse_args(_words(line))
        if args.command in (None, "help"):
            print(HELP)
            return None
        return self._run(getattr(self, f"_{args.command}"), args)

    @cell_magic
    def thing(self, line: str, cell: str):
        """``%%thing NAME``: the cell declares a thing's sensors, controls and timers on ``thing``.

        The thing comes online with them (owned by this session's owner unless ``--owner``);
        running the cell again replaces its behaviour without taking it offline.
        """
        args = _thing_parser().parse_args(_words(line))
        options = {k: v for k, v in (("owner", args.owner), ("policy", args.policy)) if v}
        thing = self._run(lambda: self.session.thing(args.name, **options))
        thing.forget()
        self.shell.user_ns["thing"] = thing
        result = self._run_quietly(cell)
        if not result.success:
            print(f"{thing.jid} now has only what the cell declared before the error; fix it and run the cell again.")
            return None
        if not thing.online:
            self._run(thing.start)
        return thing

    def _run_quietly(self, cell: str):
        """Run ``cell`` in the user's namespace without showing its last value (a decorator's function)."""
        shell = self.shell
        saved, shell.ast_node_interactivity = shell.ast_node_interactivity, "none"
        try:
            return shell.run_cell(cell, store_history=False)
        finally:
            shell.ast_node_interactivity = saved

    def _run(self, action, *args):
        """Do ``action``; what goes wrong because of the user's input becomes a one-line UsageError."""
        had_lab = self.session.lab is not None
        try:
            return action(*args)
        except (XiotlabError, ValueError, LookupError, OSError) as e:
            raise UsageError(_one_line(e)) from None
        finally:
            if not had_lab and self.session.lab is not None and not self.session.lab.persistent:
                print("No shared lab runs, so this kernel started a private one: other notebooks cannot "
                      "join it. `bin/lab` (or `xiotlab server start`) runs the shared lab.")

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
        return self.session.lab

    def _connect(self, args):
        options = {}
        if self._elsewhere(args):
            options = dict(host=args.host, port=args.port, ca_file=args.ca_file, password=self._password(args))
        if args.owner and args.role == "thing":
            options["owner"] = args.owner
        return self.session.connect(args.name, args.role, **options)

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
        return self.session.need_owner("decide friend requests").requests

    def _befriend(self, args):
        participant = self.session.need_current()
        participant.befriend(args.jid, timeout=args.timeout)
        return participant.roster.get(participant.resolve(args.jid))

    def _approve(self, args):
        self.session.need_owner("approve friend requests").approve(args.jid, args.range)
        print(f"Approved {self.session.resolve(args.jid)} ({args.range}).")

    def _reject(self, args):
        self.session.need_owner("reject friend requests").reject(args.jid, args.range)
        print(f"Rejected {self.session.resolve(args.jid)} ({args.range}).")

    def _read(self, args):
        owner = self.session.need_owner("read a thing")
        return owner.read(args.jid, args.fields or None, categories=args.categories)

    def _subscribe(self, args):
        return self.session.subscribe(args.jid, args.fields, change=args.change,
                                      min_interval=as_seconds(args.min_interval),
                                      max_interval=as_seconds(args.max_interval))

    def _plot(self, args):
        return self.session.plot(args.jid, args.fields, window=args.window or self.window)

    def _set(self, args):
        assignments = {}
        for item in args.assignments:
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise UsageError(f"{item!r}: write each value as NAME=VALUE, e.g. %xmpp set lamp on=true")
            assignments[name] = value
        values = self.session.typed_values(args.jid, assignments)
        self.session.need_owner("set controls").set(args.jid, **values)
        print(f"{self.session.resolve(args.jid)}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))

    def _panel(self, args):
        owner, jid = self.session.need_owner("control a thing"), self.session.resolve(args.jid)
        return self.session.widget(("panel", owner.jid, jid), lambda: ControlPanel(owner, jid))

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
        """Completions of the word ``text`` at the end of a ``%xmpp`` ``line``."""
        words = line.split()[1:]
        if line.endswith(" "):
            words.append("")
        if len(words) <= 1:
            return [c for c in self._parser.subcommands if c.startswith(text)]
        command, previous = words[0], words[-2]
        if command == "lab":
            return [a for a in ("start", "stop", "status") if a.startswith(text)] if len(words) == 2 else []
        if previous == "--as":
            return [r for r in ("owner", "thing") if r.startswith(text)]
        if command in ("help", "roster", "requests"):
            return []
        return [j for j in self._known_jids() if j.startswith(text)]

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


def _words(line: str) -> list[str]:
    """The words of a magic line; a password on it is refused before anything could echo it."""
    try:
        words = shlex.split(line)
    except ValueError as e:  # unbalanced quotes
        raise UsageError(f"{e}: check the quotes.") from None
    if any(_looks_like_password_option(word) for word in words):
        raise UsageError("Passwords never go on a magic line (notebooks save it): set $XMPP_PASSWORD "
                         "(or --password-env VAR), or leave it out and you will be asked for it.")
    return words


def _looks_like_password_option(word: str) -> bool:
    option = word.split("=")[0]
    short = option.startswith("-p") and not option.startswith("--")  # -p, -psecret
    return option != "--password-env" and (short or option.startswith(("--pass", "--pw")))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


def load_ipython_extension(shell) -> None:
    """``%load_ext xiotlab``: register ``%xmpp`` and ``%%thing`` and their tab completion."""
    magics = XmppMagics(shell)
    shell.register_magics(magics)
    # The first plotly figure imports plotly's renderers (nbformat, jsonschema: seconds in a kernel).
    threading.Thread(target=importlib.import_module, args=("plotly.io._renderers",), name="xiotlab-warm-up",
                     daemon=True).start()
    shell.set_hook("complete_command", lambda _, event: magics.complete(event.symbol, event.line), str_key="%xmpp")


def unload_ipython_extension(shell) -> None:
    """``%unload_ext xiotlab``: take this notebook's participants offline."""
    magics = shell.magics_manager.registry.get("XmppMagics")
    if magics is None:
        return
    session = magics.session
    if session.lab_is_ours and session.lab is not None:
        session.stop_lab()  # a private lab would otherwise outlive the session that knew it
    else:
        session.disconnect_all()
