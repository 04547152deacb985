"""The build server: ``digest build`` handed to a process that stays.

A new ``digest build`` process spends most of an edit's build on what does
not depend on the edit: at 10,000 articles, starting Python and importing
(0.3 s), loading the last build's memo and model (1.0 s), reading every
seed (0.5 s) and, at the end, waiting for the child that writes the memo
and the model for the next process (1.3 s). `digest serve` keeps all of
that in memory between builds (pipeline.Warm); so does this server, for
``digest build``:

- ``digest build`` (the client) connects to the project's server, sends its
  arguments and copies what the server prints; the exit status is the
  build's. With no server running, it starts one (``digest daemon``,
  detached, in its own session) and hands it the build. The client imports
  no more than the command line needs.
- The server runs each build exactly as ``digest build --no-daemon`` would
  (``cli.main``, under the project lock), one at a time: a second client
  waits for the first. It keeps a Warm state from one build to the next;
  what it learned is written to the cache (the memo and the model, for a
  later new process) once it has been idle for :data:`SAVE_AFTER`
  seconds, in a forked child that a new build kills (its temporary file is
  the next run's to remove), and when it exits.
- It exits when idle for ``DIGEST_DAEMON_IDLE`` seconds (default
  :data:`IDLE`), when its project folder is gone or replaced, when asked
  (``digest daemon --stop``, ``make clean``), and when a client runs other
  code or another environment than it was started with (the client then
  starts a new one).
- ``--no-daemon`` or ``DIGEST_DAEMON=0`` build in the client's own process.
  The server is never needed: whatever happens to it, a client that gets
  no answer builds in its own process.

The socket is a Unix socket in a folder only this user may enter
(``$XDG_RUNTIME_DIR`` or the temporary folder), named by a hash of the
project's path: a project folder's path may be longer than a socket
address allows.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from digest.code import code_path, stamp_code
from digest.names import CACHE

if TYPE_CHECKING:
    from digest.fsutil import Child

ENABLE: Final = "DIGEST_DAEMON"  # "0": build in the client's own process
IDLE_VAR: Final = "DIGEST_DAEMON_IDLE"  # seconds without a build before the server exits
IDLE: Final = 900.0
SAVE_AFTER: Final = 2.0  # seconds idle before the server writes what it learned to the cache
CHECK_EVERY: Final = 5.0  # seconds between checks that the project folder is still there
START_WAIT: Final = 30.0  # seconds a client waits for a server it started to answer
SERVERS: Final = 2  # servers of one user's projects running at once, at most
# What the builds read from the environment: a client whose values differ
# is not served by a server started with others.
ENV_KEYS: Final = ("PATH", "PYTHONPATH", "PYTHONHASHSEED", "SOURCE_DATE_EPOCH", "TZ", "LANG", "LANGUAGE", "HOME",
                   "LC_ALL", "LC_CTYPE", "NO_MKDOCS_2_WARNING", "NODE_OPTIONS", "NODE_PATH")
ENV_PREFIXES: Final = ("DIGEST_", "MKDOCS_", "LC_")
LOG: Final = Path(CACHE) / "daemon.log"
LOCK: Final = Path(CACHE) / "daemon.lock"


def wanted(no_daemon: bool) -> bool:
    """Whether ``digest build`` hands its build to a server."""
    return not no_daemon and os.environ.get(ENABLE, "1") != "0" and hasattr(socket, "AF_UNIX") and \
        hasattr(os, "fork")


def address(root: Path) -> Path:
    """The project's socket, in a folder of this user's that no one else may enter."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"digest-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{base} is not a private folder of this user's")
    return base / (hashlib.sha256(os.fsencode(root)).hexdigest()[:24] + ".sock")


def stamp() -> str:
    """What a server's builds depend on besides the project: the Python that
    runs them, the generator's code (file names, sizes and times, as
    pipeline.fingerprint takes them) and the environment's relevant values."""
    h = hashlib.sha256(f"{sys.executable}\0{sys.version}\n".encode())
    # The installed packages (MkDocs, Material, PyYAML...): installing or
    # upgrading one changes the folder's entries, and so its time.
    for folder in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        with contextlib.suppress(OSError):
            h.update(f"{folder}\0{os.stat(folder).st_mtime_ns}\n".encode())
    stamp_code(h)
    env = sorted((k, v) for k, v in os.environ.items()
                 if (k in ENV_KEYS or k.startswith(ENV_PREFIXES)) and k not in (ENABLE, IDLE_VAR))
    h.update(json.dumps(env).encode())
    return h.hexdigest()


# The client


def build(root: Path, argv: list[str], out: TextIO, err: TextIO) -> int | None:
    """Have the project's server run ``digest`` with ``argv`` (a build),
    starting one if none runs; its exit status, or None when no server
    answered (the caller then builds in its own process)."""
    try:
        where = address(root)
    except OSError:
        return None
    code = stamp()
    request = {"argv": argv, "cwd": os.getcwd(), "root": str(root), "stamp": code,
               "tty": bool(hasattr(err, "isatty") and err.isatty())}
    for _ in range(2):  # a second time after a server that ran other code has gone
        conn = _connect(where) or _start(root, where, code)
        if conn is None:
            return None
        with conn:
            try:
                answer = _ask(conn, request, out, err)
            except KeyboardInterrupt:
                _interrupt(root)
                raise
        if answer != "retired":
            return answer if isinstance(answer, int) else None
        _gone(where)
    return None


def _connect(where: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(where))
    except OSError:
        conn.close()
        return None
    return conn


def _start(root: Path, where: Path, code: str) -> socket.socket | None:
    """Start the project's server, detached, and connect to it. It serves
    the clients whose stamp is ``code``, this one's (its own environment
    differs: PYTHONPATH names this package)."""
    _make_room(where)
    log = root / LOG
    try:
        log.parent.mkdir(exist_ok=True)
        with open(log, "ab") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "digest", "daemon", "--root", str(root),
                                     "--stamp", code],
                                    cwd=root, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
                                    start_new_session=True, env={**os.environ, "PYTHONPATH": code_path()})
    except OSError:
        return None
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        conn = _connect(where)
        if conn is not None:
            return conn
        if proc.poll() is not None:  # it ended: another server took the project, or it failed
            return _connect(where)
        time.sleep(0.02)
    return None


def _make_room(where: Path) -> None:
    """Ask the servers of this user's other projects that were used least
    recently to end, so that at most :data:`SERVERS` run with the new one:
    each holds its project's state (about 0.9 GB at 10,000 articles)."""
    others = []
    for sock in where.parent.glob("*.sock"):
        if sock != where:
            with contextlib.suppress(OSError):
                others.append((sock.stat().st_mtime_ns, sock))
    for _, sock in sorted(others)[:max(0, len(others) - (SERVERS - 1))]:
        conn = _connect(sock)
        if conn is None:
            sock.unlink(missing_ok=True)  # a killed server's
            continue
        with conn, contextlib.suppress(OSError):
            conn.sendall(json.dumps({"stop": True}).encode() + b"\n")  # it saves and ends; not waited for


def _ask(conn: socket.socket, request: dict[str, Any], out: TextIO, err: TextIO) -> int | str | None:
    """Send the request; copy the server's output; its exit status,
    "retired" (it ran other code: it has gone), or None (no answer)."""
    try:
        conn.sendall(json.dumps(request).encode() + b"\n")
        for line in conn.makefile("rb"):
            message = json.loads(line)
            if "out" in message:
                out.write(message["out"])
                out.flush()
            elif "err" in message:
                err.write(message["err"])
                err.flush()
            elif "exit" in message:
                return int(message["exit"])
            elif "retired" in message:
                return "retired"
    except (OSError, ValueError):
        pass
    return None


def server_pid(root: Path) -> int | None:
    """The process id the project's last server wrote (_claimed); None when none did."""
    try:
        return int((root / LOCK).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _interrupt(root: Path) -> None:
    """Ctrl-C: the server's build is interrupted as one in this process
    would be (it ends as a killed run ends: the outputs are the last
    build's or this one's), and the server with it."""
    pid = server_pid(root)
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGINT)


def _gone(where: Path) -> None:
    """Wait (a little) until a retiring server has let its socket go."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and where.exists():
        time.sleep(0.02)


def stop(root: Path) -> bool:
    """Ask the project's server to end (after writing what it learned), and
    wait until it has let its socket go; whether one ran."""
    try:
        where = address(root)
    except OSError:
        return False
    conn = _connect(where)
    if conn is None:
        return False
    with conn, contextlib.suppress(OSError):
        conn.sendall(json.dumps({"stop": True}).encode() + b"\n")
        conn.recv(1)  # the server closes the connection once it has saved
    _gone(where)
    return True


# The server


class _Stream:
    """A build's standard output or error, sent to the client. When the
    client has gone (Ctrl-C), what follows is dropped: the build goes on
    and ends as it would have, under the project lock."""

    def __init__(self, conn: socket.socket, name: str, tty: bool) -> None:
        self.conn, self.name, self.tty = conn, name, tty
        self.gone = False

    def write(self, text: str) -> int:
        if text and not self.gone:
            try:
                self.conn.sendall(json.dumps({self.name: text}).encode() + b"\n")
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


@contextlib.contextmanager
def _claimed(root: Path) -> Iterator[bool]:
    """The project's server role: True for the one process that holds it."""
    (root / LOCK).parent.mkdir(exist_ok=True)
    with open(root / LOCK, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")  # which process serves the project (`digest daemon --stop` asks it)
        f.flush()
        yield True


def _idle_limit() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_VAR, IDLE)))
    except ValueError:
        return IDLE


def run(root: Path, code: str) -> int:
    """``digest daemon``: serve the project's builds until idle, stopped or
    replaced. Started by a client; prints only to its log."""
    root = root.resolve()
    with _claimed(root) as mine:
        if not mine:
            return 0
        where = address(root)
        where.unlink(missing_ok=True)  # a killed server's
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # SIGTERM ends it as Ctrl-C does, its socket removed on the way out;
        # SIGINT (a client's Ctrl-C, _interrupt) interrupts its build even when
        # the client that started it ignored SIGINT, as a command started in
        # the background by a shell does (Python then leaves it ignored).
        signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            listener.bind(str(where))
            os.chmod(where, 0o600)
            listener.listen(16)
            _Server(root, code, where).loop(listener)
        finally:
            listener.close()
            where.unlink(missing_ok=True)  # still this server's: the role is held until here
    return 0


class _Server:
    def __init__(self, root: Path, code: str, where: Path) -> None:
        from digest.pipeline import Warm

        self.root, self.code, self.where = root, code, where
        self.identity = os.stat(root).st_ino
        self.warm: Warm | None = None
        self.options: object = None
        self.saver: Child | None = None  # the child writing what was learned
        self.unsaved = False  # built since the last save

    def loop(self, listener: socket.socket) -> None:
        idle = _idle_limit()
        last = checked = time.monotonic()
        while True:
            now = time.monotonic()
            if self.unsaved and now - last >= SAVE_AFTER:
                self._save(forked=True)
            if now - last >= idle or (now - checked >= CHECK_EVERY and not self._project_there()):
                break
            checked = now if now - checked >= CHECK_EVERY else checked
            wait = min(CHECK_EVERY, max(0.05, last + idle - now))
            if self.unsaved:
                wait = min(wait, max(0.05, last + SAVE_AFTER - now))
            if not select.select([listener], [], [], wait)[0]:
                continue
            conn, _ = listener.accept()
            with conn:
                ending = self._serve(conn)
            last = time.monotonic()
            if ending == "retire":  # other code or settings: what it knows is not theirs
                return
            if ending == "stop":
                break
        self._save(forked=False)

    def _project_there(self) -> bool:
        try:
            return os.stat(self.root).st_ino == self.identity and (self.root / "mkdocs.yml").is_file()
        except OSError:
            return False

    def _serve(self, conn: socket.socket) -> str | None:
        """One client's request; "stop" or "retire" when the server should end."""
        conn.settimeout(10.0)  # a connection that sends nothing does not hold the server
        try:
            request = json.loads(conn.makefile("rb").readline() or b"{}")
        except (OSError, ValueError):
            return None
        conn.settimeout(None)
        if request.get("stop"):
            self._save(forked=False)  # before the client is let go: `make clean` then deletes the cache
            return "stop"
        if not isinstance(request.get("argv"), list):  # not a client's (a probe, a stray connection)
            return None
        if request.get("root") != str(self.root) or request.get("stamp") != self.code:
            with contextlib.suppress(OSError):
                conn.sendall(b'{"retired": true}\n')
            return "retire"
        self._stop_saving()
        tty = bool(request.get("tty"))
        code = self._build(list(request["argv"]), request.get("cwd"), _Stream(conn, "out", tty),
                           _Stream(conn, "err", tty))
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
            os.utime(self.where)  # when it was last used (_make_room)
        return None

    def _build(self, argv: list[str], cwd: str | None, out: _Stream, err: _Stream) -> int:
        from digest import cli
        from digest.pipeline import Warm, _stored_model

        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)
        options = cli.build_options_key(argv)
        if self.warm is None or options != self.options:
            # What a new process would patch: the model the last build left.
            self.warm, self.options = Warm(model=_stored_model(self.root), saves=False), options
        try:
            code = cli.main(argv, out, err, warm=self.warm)  # type: ignore[arg-type]  # a text stream's methods
        except Exception as exc:  # the server outlives a failed build, which says why
            err.write(f"digest: the build server failed: {exc!r} (the traceback is in {LOG})\n")
            traceback.print_exc()  # to the log
            code = cli.EXIT_BUILD
            self.warm = None  # state a build left half made is not built on
        finally:
            os.chdir(self.root)
        self.unsaved = True
        return code

    def _save(self, *, forked: bool) -> None:
        """Write the memo and the model for a later new process."""
        self._stop_saving()
        if not self.unsaved:
            return
        warm, self.unsaved = self.warm, False
        if warm is None or warm.memo is None:
            return
        from digest.fsutil import in_child
        from digest.pipeline import save_learned

        if not forked:
            with contextlib.suppress(Exception):
                save_learned(self.root, warm)
            return
        # It holds the listening socket too; in_child's child dies with
        # this process, so a server killed while it saves leaves no socket
        # answering no one.
        self.saver = in_child(partial(save_learned, self.root, warm))

    def _stop_saving(self) -> None:
        """Kill a save under way (a build needs both cores): it leaves at
        most a temporary file, which the next build's tidy-up removes; the
        next idle moment saves again."""
        if self.saver is not None and not self.saver.finished():
            self.saver.kill()
            self.unsaved = True
        self.saver = None
