"""``digest serve``: the analyst's preview. Watches the project, rebuilds
incrementally on every save, serves the hosted edition on the loopback
address and reloads the browser.

- The watcher is watchfiles (Rust's notify underneath): it groups the
  changes that arrive while a build runs, so several saves in quick
  succession cause one rebuild, not a queue.
- A rebuild is exactly ``digest build`` (both editions, incremental where it
  can be), under the project lock; the served folder is ``site/``, swapped
  in whole by each build, so a reader never gets half a site.
- When an edit makes ``seeds/`` invalid, the last good site stays; the
  problems go to the terminal and to every open page, as a banner that
  names file, line and hint (text, never markup). The next good save
  reloads the page.
- Pages get a small script, added as they are served (the built site has
  none): it asks ``/__digest__/status`` twice a second for the build
  number and the problems, and reloads when the build number changes.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, TextIO
from urllib.parse import parse_qs

from digest.fsutil import Busy
from digest.pipeline import Options, Project, Warm, run_build, warm_up
from digest.problems import CheckFailed, DigestError

STATUS_PATH: Final = "/__digest__/status"
CLIENT: Final = b"""<script>/* digest serve: reload on rebuild, show problems */
(function () {
  var seen = null;
  function show(problems) {
    var box = document.getElementById("__digest_problems");
    if (!problems.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "__digest_problems";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;background:#8b0000;color:#fff;" +
        "padding:1em;font:14px/1.4 monospace;white-space:pre-wrap;max-height:60vh;overflow:auto";
      document.body.appendChild(box);
    }
    box.textContent = "digest: the last save has problems; this page is the last good build.\\n\\n" + problems.join("\\n");
  }
  // This page's address as the builds name pages: relative to the site.
  var here = decodeURIComponent(location.pathname.replace(/^\\//, "")) || "index.html";
  if (here.slice(-1) === "/") here += "index.html";
  function poll() {
    var url = "/__digest__/status" + (seen === null ? "" : "?since=" + seen);
    fetch(url, {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (seen === null) seen = s.build;
      else if (s.build !== seen) {
        // Reload only when this page changed (null: any page may have).
        if (s.changed === null || s.changed.indexOf(here) >= 0) { location.reload(); return; }
        seen = s.build;
      }
      show(s.problems);
    }).catch(function () {}).then(function () { setTimeout(poll, 500); });
  }
  poll();
})();
</script>"""


@dataclass
class Status:
    """What the pages ask for: the number of the last good build and the
    problems of the last attempt (empty when it succeeded)."""

    build: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Each build's changed pages (None: any page), so that a page that
    # missed some builds between two polls still learns whether it changed.
    history: dict[int, tuple[str, ...] | None] = field(default_factory=dict)

    def payload(self, since: int | None = None) -> bytes:
        with self.lock:
            changed: list[str] | None = []
            for number in range((since or self.build) + 1, self.build + 1):
                pages = self.history.get(number)
                if pages is None or changed is None:
                    changed = None
                    continue
                changed += pages
            body = {"build": self.build, "problems": self.problems,
                    "changed": sorted(set(changed)) if changed is not None else None}
            return json.dumps(body).encode("utf-8")

    def succeeded(self, pages: tuple[str, ...] | None = None) -> None:
        with self.lock:
            self.build += 1
            self.problems = []
            self.history[self.build] = pages
            self.history.pop(self.build - 100, None)  # an older page simply reloads

    def failed(self, problems: list[str]) -> None:
        with self.lock:
            self.problems = problems


class Handler(SimpleHTTPRequestHandler):
    """Serves ``site/`` as it is at each request (each build swaps it whole),
    pages with the reload script, nothing cached."""

    status: Status

    def __init__(self, *args: Any, site: Path, status: Status, **kwargs: Any) -> None:
        self.status = status
        super().__init__(*args, directory=str(site), **kwargs)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line a request would bury the build's messages

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == STATUS_PATH:
            since = parse_qs(query).get("since", [""])[0]
            self._send(self.status.payload(int(since) if since.isdigit() else None), "application/json")
            return
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not self.path.split("?", 1)[0].endswith("/"):
                super().do_GET()  # the redirect to the folder's URL with its slash
                return
            path = os.path.join(path, "index.html")
        if path.endswith(".html") and os.path.isfile(path):
            with open(path, "rb") as f:
                page = f.read()
            end = page.rfind(b"</body>")
            page = page[:end] + CLIENT + page[end:] if end >= 0 else page + CLIENT
            self._send(page, "text/html; charset=utf-8")
            return
        super().do_GET()

    def _send(self, data: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as MkDocs' ``--dev-addr`` takes it."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, for example 127.0.0.1:8000, not {text!r}")
    return host.strip("[]"), int(port)


def _config_stamp(project: Project) -> tuple[tuple[str, int, int], ...]:
    """The configuration files' times and sizes: watched by polling, since
    an editor's save replaces the file a watch on it would follow."""
    found = []
    for name in ("mkdocs.yml", "mkdocs.offline.yml"):
        try:
            st = os.stat(project.root / name)
            found.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            found.append((name, 0, 0))
    return tuple(found)


def _watched(project: Project) -> Callable[[Any, str], bool]:
    """Changes that call for a rebuild: anything under seeds/, overrides/ or
    the hand-written docs/, never the generator's own output or dot-files."""
    generated = str(project.docs / "digest")

    def keep(_change: Any, path: str) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") or name.endswith(("~", ".swp", ".swx")):
            return False
        return not (path == generated or path.startswith(generated + os.sep))

    return keep


def _folders(project: Project) -> list[str]:
    """The folders to watch, each on its own (not recursively): seeds/ (whose
    sub-folders are not read), and docs/ and overrides/ with their real
    sub-folders. A watcher told to recurse would follow a link in seeds/ to
    wherever it leads (a link to / would have it watch the whole disk); the
    build refuses such links, so the watcher must not follow them either."""
    found = [str(project.seeds)] if project.seeds.is_dir() else []
    generated = project.docs / "digest"
    for top in (project.docs, project.root / "overrides"):
        for here, dirs, _files in os.walk(top):  # links to folders are not followed
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(here, d) != generated)
            found.append(here)
    return found


def rebuild(project: Project, options: Options, status: Status, out: TextIO, err: TextIO,
            warm: Warm | None = None) -> bool:
    """One ``digest build`` (``warm``: what the last one kept); the status says how it went."""
    told: list[bool] = []

    def live(pages: tuple[str, ...] | None) -> None:
        # The hosted edition's new pages are being served: reload them now,
        # not once the offline edition and the zip are made too.
        status.succeeded(None if status.problems else pages)
        told.append(True)

    try:
        result = run_build(project, options, live=live, warm=warm)
    except CheckFailed as exc:
        lines = [p.format() for p in exc.problems]
        for line in lines:
            print(line, file=err)
        print("digest: the seeds have problems; still serving the last good build", file=err)
        status.failed(lines)
        return False
    except Busy as exc:
        print(f"digest: {exc}; will build again on the next change", file=err)
        return False
    except DigestError as exc:
        print(f"digest: {exc}", file=err)
        status.failed([str(exc)])
        return False
    for problem in result.problems:
        print(problem.format(), file=err)
    print(f"digest: {result.how} ({result.seconds:.1f} s)", file=out, flush=True)
    if not told and (result.changed or status.problems):  # a page reloads only when there is something new to see
        # After a failed save every page reloads, to drop its banner.
        status.succeeded(None if status.problems else result.pages)
    return True


# After Ctrl-C, how long stopping may take before the process says where it
# is stuck (every thread's traceback) and ends anyway: a preview that does not
# stop would hold the port and the project lock.
STOP_LIMIT: Final = 20.0


class _Stopper:
    """Ctrl-C and SIGTERM, handled here rather than by Python's default.

    Between builds the watcher is told to stop (it looks every 50 ms); during
    a build, KeyboardInterrupt ends the build, which leaves the last good
    outputs as they were (a failed run changes nothing). Either way a
    watchdog is armed: if stopping takes longer than STOP_LIMIT, every
    thread's traceback goes to standard error and the process ends.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.building = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Stopper:
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def build(self, work: Callable[[], object]) -> None:
        """Run ``work``, a build that Ctrl-C or SIGTERM ends with KeyboardInterrupt."""
        self.building = True
        try:
            work()
        finally:
            self.building = False

    def _handle(self, number: int, _frame: Any) -> None:
        if not self.stop.is_set():
            self.stop.set()
            faulthandler.dump_traceback_later(STOP_LIMIT, exit=True)
        if self.building:
            raise KeyboardInterrupt


def serve(project: Project, options: Options, address: tuple[str, int], out: TextIO, err: TextIO,
          stop: threading.Event | None = None) -> int:
    """Build, serve and rebuild until Ctrl-C or SIGTERM (or ``stop`` is set)."""
    import watchfiles

    stop = stop or threading.Event()
    status = Status()
    warm = Warm()  # what one build keeps for the next (pipeline.Warm)
    with _Stopper(stop) as stopper:
        try:
            stopper.build(lambda: rebuild(project, options, status, out, err, warm))
            stopper.build(lambda: warm_up(project, options, warm))
        except KeyboardInterrupt:
            print("digest: stopped", file=out, flush=True)
            return 0
        server = ThreadingHTTPServer(address, partial(Handler, site=project.site, status=status))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="digest-serve", daemon=True)
        thread.start()
        port = server.server_address[1]
        print(f"digest: serving the hosted edition at http://{address[0]}:{port}/ ; watching seeds/, docs/, "
              "overrides/ and mkdocs.yml (Ctrl-C to stop)", file=out, flush=True)
        config = _config_stamp(project)
        try:
            for changes in watchfiles.watch(*_folders(project), watch_filter=_watched(project), debounce=300,
                                            step=50, rust_timeout=1000, yield_on_timeout=True, stop_event=stop,
                                            raise_interrupt=False, recursive=False):
                now = _config_stamp(project)
                if stop.is_set() or (not changes and now == config):
                    continue
                config = now
                stopper.build(lambda: rebuild(project, options, status, out, err, warm))
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            server.server_close()
    print("digest: stopped", file=out, flush=True)
    return 0
