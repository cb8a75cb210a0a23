"""Hostile stanzas against a thing in a process of its own, then its health: does it stay up?

    .venv/bin/python benchmarks/fuzz.py [--cases 100000] [--seed 1] [--minutes 15]

A thing runs in a child process on a private lab (as a thing in another kernel would), logging to a
file. A friend and a stranger send it mutations of valid requests in every dialect (sensor data
req/cancel in each namespace, events subscribe/unsubscribe, control set/getForm, the legacy
XEP-0323/0325 ones): wrong iq types, extra or missing attributes, odd and huge values, deep
nesting, thousands of children, unknown namespaces, several payloads, plus deep and huge messages
and presences. A well-behaved watcher stays subscribed throughout. Then the health checks, printed
as JSON: the process is alive, every iq of type get or set got a result or an error within
:data:`ANSWER_TIMEOUT`, no ERROR record in the thing's log, its resident memory at start and end
(bound: :data:`RSS_GROWTH_BOUND`), the watcher still receiving, and the rate of answers beside a
raw slixmpp ping baseline measured in the same run, between the same clients.

Cases come from a small grammar driven by ``random.Random(seed)``: a run is reproducible, and a
failing case is printed with its number. ``run()`` is what ``tests/roles/test_fuzz.py`` calls with
a few hundred cases.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import json
import random
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slixmpp.exceptions import IqError, IqTimeout

from xiotlab import LabServer, Owner
from xiotlab.protocol.namespaces import (
    CONTROL,
    CONTROL_ALIASES,
    EVENTS,
    EVENTS_ALIASES,
    LEGACY_CONTROL,
    LEGACY_SENSOR_DATA,
    SENSOR_DATA,
    SENSOR_DATA_ALIASES,
)
from xiotlab.runtime import network

ANSWER_TIMEOUT = 20.0  # seconds each iq of type get or set may wait for its answer
WINDOW = 64  # iqs in flight at once, for the cases and the ping baseline alike
# Bytes the thing's resident memory may grow over a run. What the thing keeps is bounded by its limits
# (subscriptions per friend, the trace); what it holds while working is WINDOW stanzas of up to
# MAX_STANZA bytes, parsed. Runs of 3,000 and 12,000 cases both peaked at +67 MB: a high-water
# mark, not a leak; the figures give the memory at half time too, to tell one from the other.
RSS_GROWTH_BOUND = 96 * 2**20
STRANGER_SHARE = 0.2  # of the cases, sent by someone who is not the thing's friend
MAX_STANZA = 200_000  # bytes: under Prosody's 256 kB limit, which would close the *sender's* stream

SD = (SENSOR_DATA, *SENSOR_DATA_ALIASES)
EV = (EVENTS, *EVENTS_ALIASES)
CTR = (CONTROL, *CONTROL_ALIASES)
NAMESPACES = (*SD, *EV, *CTR, LEGACY_SENSOR_DATA, LEGACY_CONTROL, "urn:example:unknown", "jabber:x:data", "")

# --- the thing, in its own process --------------------------------------------------------------


def thing_process() -> None:
    """The child: a thing with reported and read sensors and controls, answering commands on stdin."""
    import logging
    import threading

    from xiotlab import Thing

    setup = json.loads(sys.stdin.readline())
    logging.basicConfig(filename=setup["log"], level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    thing = Thing(setup["jid"], setup["password"], host=setup["host"], port=setup["port"], ca_file=setup["ca_file"],
                  policy="accept", timeout=30)  # fmt: skip
    thing.sensor("level", type=float)
    thing.sensor("temperature", unit="°C")(lambda: 21.5)
    thing.control("on", type=bool, value=False)(lambda on: None)
    thing.control("brightness", type=float, min=0, max=100, value=50)(lambda value: None)
    thing.start()
    thing.allow_control(setup["friend"])
    stop = threading.Event()

    def report() -> None:
        i = 0
        while not stop.wait(0.01):
            i += 1
            thing.report(level=float(i))

    threading.Thread(target=report, daemon=True).start()
    print("online", thing.full_jid, flush=True)
    for line in sys.stdin:
        if line.strip() == "rss":
            print(rss_bytes(), len(thing._sensing.subscriptions), thing.online, flush=True)
        else:
            break
    stop.set()
    thing.stop()


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Child:
    """The thing's process, seen from the fuzzer."""

    def __init__(self, lab: LabServer, name: str, friend: str, log: Path) -> None:
        credentials = lab.account(name)
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--thing"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        # Secrets go through the pipe, never the command line.
        setup = {"jid": credentials.jid, "password": credentials.password, "host": lab.host, "port": lab.port,
                 "ca_file": str(lab.ca_file), "friend": friend, "log": str(log)}  # fmt: skip
        self.command(json.dumps(setup))
        word, self.full_jid = self.read().split()
        assert word == "online", word
        self.jid = credentials.jid

    def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def state(self) -> tuple[int, int, bool]:
        """(resident bytes, subscriptions kept, online)."""
        self.command("rss")
        rss, kept, online = self.read().split()
        return int(rss), int(kept), online == "True"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.command("stop")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def error_records(self) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line[:300] for line in lines if line.startswith(("ERROR ", "CRITICAL "))]


# --- the grammar ------------------------------------------------------------------------------------


def seeds(ns_pick: Callable[[tuple[str, ...]], str]) -> list[tuple[str, str]]:
    """Valid requests of every dialect, as (iq type, XML)."""
    sd, ev, ctr = ns_pick(SD), ns_pick(EV), ns_pick(CTR)
    return [
        ("get", f"<req xmlns='{sd}' id='r1' m='true'><f n='level'/><f n='temperature'/></req>"),
        ("get", f"<req xmlns='{sd}' id='r2' all='true' from='2020-01-01T00:00:00Z'><nd id='a' src='s' pt='p'/></req>"),
        ("set", f"<cancel xmlns='{sd}' id='r1'/>"),
        ("set", f"<subscribe xmlns='{ev}' id='s1' minInt='PT1S' maxInt='PT1M'><f n='level' by='0.5'/></subscribe>"),
        ("set", f"<subscribe xmlns='{ev}' id='s2' req='true'><f n='level' v='1' up='1' dn='2'/></subscribe>"),
        ("set", f"<unsubscribe xmlns='{ev}' id='s1'/>"),
        ("set", f"<set xmlns='{ctr}'><b n='on' v='true'/><db n='brightness' v='42.5'/></set>"),
        ("get", f"<getForm xmlns='{ctr}'><nd id='n1'/></getForm>"),
        ("get", f"<req xmlns='{LEGACY_SENSOR_DATA}' seqnr='8' all='true'><field name='level'/></req>"),
        ("get", f"<cancel xmlns='{LEGACY_SENSOR_DATA}' seqnr='8'/>"),
        ("set", f"<set xmlns='{LEGACY_CONTROL}'><boolean name='on' value='true'/><int name='x' value='2'/></set>"),
        ("get", f"<getForm xmlns='{LEGACY_CONTROL}'/>"),
    ]  # fmt: skip


ODD_VALUES = [
    "", " ", "0", "-1", "1", "NaN", "INF", "-INF", "1e309", "-0", "0x10", "1_000", "１２", "P1Y", "PT0S", "-PT1S",
    "P99999999999D", "PT0.000001S", "P1M", "PT1M", "true", "false", "1", "maybe", "2020-13-45T99:99:99Z",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2020-01-01T00:00:00+14:00", "\u202e", "🌡", "<&>\"'",
    "%s%n", "9" * 60, "a" * 1025, "Ω" * 300, "\t\n\r",
]  # fmt: skip
ATTRIBUTES = ["id", "n", "v", "by", "up", "dn", "m", "all", "h", "from", "to", "when", "minInt", "maxInt",
              "maxAge", "req", "st", "dt", "ut", "src", "pt", "seqnr", "name", "value", "type"]  # fmt: skip
NAMES = ["req", "f", "nd", "field", "subscribe", "b", "db", "set", "x", "value", "node", "ts", "q", "err"]


@dataclass
class Case:
    """One hostile stanza: what it is, who sends it, whether an answer is due."""

    number: int
    stanza: str  # iq, message or presence
    kind: str  # the iq type
    payloads: list[ET.Element]
    stranger: bool
    mutations: list[str] = field(default_factory=list)

    @property
    def answer_due(self) -> bool:
        return self.stanza == "iq" and self.kind in ("get", "set")


class Grammar:
    """Mutations of valid requests, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.mutations: list[Callable[[Case], str]] = [
            self.odd_attribute, self.odd_attribute, self.drop_attribute, self.huge_attribute, self.deep,
            self.wide, self.rename, self.foreign_namespace, self.text, self.drop_child, self.duplicate_child,
            self.wrong_type, self.extra_payload, self.no_payload, self.as_message,
        ]  # fmt: skip

    def case(self, number: int) -> Case:
        r = self.random
        kind, xml = r.choice(seeds(r.choice))
        case = Case(number, "iq", kind, [ET.fromstring(xml)], r.random() < STRANGER_SHARE)
        for _ in range(r.choice((0, 1, 1, 1, 2, 2, 3))):
            mutation = r.choice(self.mutations)
            case.mutations.append(mutation(case))
        return case

    def element(self, case: Case) -> ET.Element:
        everything = [e for p in case.payloads for e in p.iter()]
        if not everything:
            case.payloads.append(ET.Element(f"{{{self.random.choice(NAMESPACES)}}}req"))
            return case.payloads[0]
        return self.random.choice(everything)

    def odd_attribute(self, case: Case) -> str:
        name = self.random.choice(ATTRIBUTES)
        self.element(case).set(name, self.random.choice(ODD_VALUES))
        return f"odd {name}"

    def drop_attribute(self, case: Case) -> str:
        element = self.element(case)
        if element.attrib:
            del element.attrib[self.random.choice(sorted(element.attrib))]
        return "drop attribute"

    def huge_attribute(self, case: Case) -> str:
        length = self.random.choice((1025, 4097, 20_000, 90_000))
        if size(case) + 2 * length > MAX_STANZA:  # Ω takes two bytes
            return "huge (skipped)"
        name = self.random.choice(ATTRIBUTES[:22])
        self.element(case).set(name, self.random.choice("x9Ω") * length)
        return f"huge {name} {length}"

    def deep(self, case: Case) -> str:
        # slixmpp serializes what we send recursively: the deepest case needs room (main() makes it).
        deepest = 3000 if sys.getrecursionlimit() > 10_000 else 800
        levels = self.random.choice((8, 30, 63, 64, 65, 100, 600, deepest))
        ns = self.random.choice(NAMESPACES)
        parent = self.element(case)
        for _ in range(levels):
            parent = ET.SubElement(parent, f"{{{ns}}}{self.random.choice(NAMES)}" if ns else "nd", id="a")
        return f"deep {levels}"

    def wide(self, case: Case) -> str:
        count = self.random.choice((999, 1001, 3000))
        target = self.element(case)
        ns = target.tag[1:].split("}")[0] if target.tag.startswith("{") else ""
        tag = self.random.choice(("f", "nd", "field", "b"))
        for i in range(count):
            ET.SubElement(target, f"{{{ns}}}{tag}" if ns else tag, n=f"f{i}", id=f"n{i}", name=f"f{i}")
        return f"wide {count} {tag}"

    def rename(self, case: Case) -> str:
        element = self.element(case)
        ns = element.tag[1:].split("}")[0] if element.tag.startswith("{") else ""
        name = self.random.choice(NAMES)
        element.tag = f"{{{ns}}}{name}" if ns else name
        return f"rename {name}"

    def foreign_namespace(self, case: Case) -> str:
        element = self.element(case)
        ns = self.random.choice(NAMESPACES)
        local = element.tag.rsplit("}", 1)[-1]
        element.tag = f"{{{ns}}}{local}" if ns else local
        return f"namespace {ns or 'none'}"

    def text(self, case: Case) -> str:
        self.element(case).text = self.random.choice(ODD_VALUES)
        return "text"

    def drop_child(self, case: Case) -> str:
        element = self.element(case)
        if len(element):
            element.remove(element[self.random.randrange(len(element))])
        return "drop child"

    def duplicate_child(self, case: Case) -> str:
        element = self.element(case)
        if len(element) and size(case) < MAX_STANZA // 2:
            element.append(copy.deepcopy(element[0]))
        return "duplicate child"

    def wrong_type(self, case: Case) -> str:
        case.kind = self.random.choice(("get", "set", "result", "error"))
        return f"type {case.kind}"

    def extra_payload(self, case: Case) -> str:
        _kind, xml = self.random.choice(seeds(self.random.choice))
        case.payloads.append(ET.fromstring(xml))
        return "two payloads"

    def no_payload(self, case: Case) -> str:
        case.payloads.clear()
        return "no payload"

    def as_message(self, case: Case) -> str:
        case.stanza = self.random.choice(("message", "presence"))
        return f"as {case.stanza}"


def size(case: Case) -> int:
    """The payloads' size in bytes, as they travel (UTF-8)."""
    return sum(len(ET.tostring(p, encoding="utf-8")) for p in case.payloads)


# --- sending --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the cases got back."""

    sent: int = 0
    answers_due: int = 0
    results: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    unanswered: list[str] = field(default_factory=list)
    skipped_too_big: int = 0
    slowest: float = 0.0  # seconds, of the answers that came

    @property
    def answered(self) -> int:
        return self.results + sum(self.errors.values())


async def send_case(sender: Owner, to: str, case: Case, tally: Tally) -> None:
    stream = sender._client.stream
    if case.stanza != "iq":
        stanza = stream.make_message(mto=to) if case.stanza == "message" else stream.make_presence(pto=to)
        stanza.xml.extend(case.payloads)
        stanza.send()
        return
    iq = stream.make_iq(ito=to, itype=case.kind)
    iq.xml.extend(case.payloads)
    if not case.answer_due:
        stream.send(iq)  # a result or error: never answered, by design
        return
    tally.answers_due += 1
    start = time.perf_counter()
    try:
        await iq.send(timeout=ANSWER_TIMEOUT)
        tally.results += 1
    except IqError as e:
        tally.errors[e.iq["error"]["condition"] or "undefined-condition"] += 1
    except IqTimeout:
        tally.unanswered.append(f"case {case.number} ({', '.join(case.mutations) or 'valid'})")
        return
    tally.slowest = max(tally.slowest, time.perf_counter() - start)


async def flood(cases, send, deadline: float) -> int:
    """Run ``send(case)`` for each case with :data:`WINDOW` in flight, until done or ``deadline``."""
    slots = asyncio.Semaphore(WINDOW)
    running: set[asyncio.Task] = set()
    count = 0
    for case in cases:
        if time.monotonic() > deadline:
            break
        await slots.acquire()
        task = asyncio.ensure_future(send(case))
        running.add(task)
        task.add_done_callback(lambda t: (running.discard(t), slots.release()))
        count += 1
    await asyncio.gather(*running)
    return count


def fuzz(
    friend: Owner, stranger: Owner, to: str, grammar: Grammar, numbers: range, tally: Tally, deadline: float
) -> float:
    """Send the cases ``numbers`` until ``deadline`` (monotonic); the seconds it took."""

    def generated():
        for number in numbers:
            case = grammar.case(number)
            if size(case) > MAX_STANZA:
                tally.skipped_too_big += 1
                continue
            yield case

    async def send(case: Case) -> None:
        tally.sent += 1
        await send_case(stranger if case.stranger else friend, to, case, tally)

    start = time.perf_counter()
    network.run(flood(generated(), send, deadline))
    return time.perf_counter() - start


def pings(friend: Owner, to: str, count: int) -> float:
    """The baseline: raw slixmpp pings (XEP-0199) from the same friend to the same thing, same window."""
    ping = friend._client.stream.plugin["xep_0199"]

    async def one(_number: int) -> None:
        await ping.send_ping(to, timeout=ANSWER_TIMEOUT)

    start = time.perf_counter()
    network.run(flood(range(count), one, time.monotonic() + 600))
    return count / (time.perf_counter() - start)


# --- the run --------------------------------------------------------------------------------------------


def run(lab: LabServer, cases: int = 1000, seed: int = 1, minutes: float = 15.0, log_dir: Path | None = None) -> dict:
    """Fuzz a thing in a child process with ``cases`` hostile stanzas (or for ``minutes``); its health as a dict."""
    tag = f"{seed}-{int(time.time() * 1000) % 10**8}"
    friend = Owner(f"fuzz-friend-{tag}", lab=lab, timeout=30).start()
    stranger = Owner(f"fuzz-stranger-{tag}", lab=lab, timeout=30).start()
    watcher = Owner(f"fuzz-watcher-{tag}", lab=lab, timeout=30).start()
    log = (log_dir or Path(tempfile.mkdtemp(prefix="xiotlab-fuzz-"))) / "thing.log"
    child = Child(lab, f"fuzz-thing-{tag}", friend.jid, log)
    try:
        for owner in (friend, watcher):
            owner.befriend(child.jid)
        stream = watcher.subscribe(child.jid, "level")
        baseline = pings(friend, child.full_jid, min(max(cases, 200), 5000))
        rss_start, _, _ = child.state()
        watched_before = stream.count
        grammar, tally, deadline = Grammar(seed), Tally(), time.monotonic() + minutes * 60
        half = cases // 2
        seconds = fuzz(friend, stranger, child.full_jid, grammar, range(half), tally, deadline)
        rss_half, _, _ = child.state() if child.alive() else (0, 0, False)
        seconds += fuzz(friend, stranger, child.full_jid, grammar, range(half, cases), tally, deadline)
        watched_after = stream.count
        alive = child.alive()
        rss_end, kept, online = child.state() if alive else (0, 0, False)
        readout = len(watcher.read(child.jid, "temperature")) if alive else 0
        return report(tally, seconds, baseline, alive, online, readout, watched_after - watched_before,
                      (rss_start, rss_half, rss_end), kept, child.error_records(), log)  # fmt: skip
    finally:
        child.stop()
        for owner in (friend, stranger, watcher):
            owner.stop()


def report(tally: Tally, seconds: float, baseline: float, alive: bool, online: bool, readout: int, watched: int,
           rss: tuple[int, int, int], kept: int, errors: list[str], log: Path) -> dict:  # fmt: skip
    answered_per_second = tally.answered / seconds if seconds else 0.0
    return {
        "cases_sent": tally.sent,
        "skipped_over_stanza_limit": tally.skipped_too_big,
        "seconds": round(seconds, 1),
        "iqs_due_an_answer": tally.answers_due,
        "answered": tally.answered,
        "results": tally.results,
        "errors_by_condition": dict(tally.errors.most_common()),
        "unanswered": len(tally.unanswered),
        "unanswered_first": tally.unanswered[:10],
        "answer_timeout_s": ANSWER_TIMEOUT,
        "slowest_answer_s": round(tally.slowest, 2),
        "crashed": not alive,
        "online_after": online,
        "readout_after_fields": readout,
        "watcher_values_during_run": watched,
        "error_records": len(errors),
        "error_records_first": errors[:10],
        "thing_log": str(log),
        "rss_start_mb": round(rss[0] / 2**20, 1),
        "rss_half_time_mb": round(rss[1] / 2**20, 1),
        "rss_end_mb": round(rss[2] / 2**20, 1),
        "rss_growth_bound_mb": RSS_GROWTH_BOUND / 2**20,
        "rss_within_bound": rss[2] - rss[0] <= RSS_GROWTH_BOUND,
        "subscriptions_kept_after": kept,
        "answered_per_second": round(answered_per_second, 1),
        "ping_baseline_per_second": round(baseline, 1),
        "ratio_to_ping": round(answered_per_second / baseline, 3) if baseline else None,
    }


def healthy(figures: dict) -> bool:
    return (
        not figures["crashed"]
        and figures["online_after"]
        and figures["unanswered"] == 0
        and figures["error_records"] == 0
        and figures["rss_within_bound"]
        and figures["watcher_values_during_run"] > 0
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="hostile stanzas to send (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=15.0, help="stop sending after this long")
    parser.add_argument("--thing", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.thing:
        thing_process()
        return 0
    sys.setrecursionlimit(20_000)  # for the sender's serializer only (see Grammar.deep); the thing keeps its own
    with LabServer() as lab:
        figures = run(lab, args.cases, args.seed, args.minutes)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0 if healthy(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
