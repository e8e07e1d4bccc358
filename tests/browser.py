"""A headless Chromium that loads the built pages and reports what a reader's browser shows.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), which needs no package beyond the
standard library. The network is off: a proxy that does not exist and the protocol's offline mode,
so a page that needs anything but its own files shows the error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",  # nothing listens there: every network request fails
    "--proxy-bypass-list=<-loopback>",
)

# What the page reports once loaded, MathJax done and images decoded. Raw TeX is looked for in
# the text a reader sees: outside rendered math and outside code.
REPORT_JS = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  const visible = document.querySelector("main") || document.body;
  const copy = visible.cloneNode(true);
  copy.querySelectorAll("mjx-container, pre, code, script, style, .MathJax").forEach(e => e.remove());
  const text = copy.textContent;
  const commands = /\\(frac|partial|sqrt|begin|end|mathrm|operatorname|left|right)\b/g;
  const tex = text.match(commands) || text.match(/\$\$|\\\(|\\\[/g) || [];
  const math = [...document.querySelectorAll(".math")];
  return {
    title: document.title,
    images: [...document.images].map(i => ({src: i.getAttribute("src").slice(0, 80),
                                           width: i.naturalWidth, height: i.naturalHeight})),
    math: math.length,
    rendered: math.filter(m => m.querySelector("mjx-container")).length,
    raw_tex: tex.slice(0, 5),
  };
})()
"""


def find() -> str | None:
    """The Chromium executable on the PATH, or None."""
    return next((path for path in map(shutil.which, NAMES) if path), None)


@dataclass
class PageReport:
    url: str
    title: str = ""
    images: list[dict] = field(default_factory=list)
    math: int = 0
    rendered: int = 0
    raw_tex: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loaded: bool = False


class NavigatedError(RuntimeError):
    """The page went on to another one while it was being inspected."""


class Browser:
    """One Chromium process; :meth:`load` reports on one page at a time."""

    def __init__(self, executable: str, *, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="glorot-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def pipes() -> None:  # runs in the child: the protocol's descriptors are 3 and 4
            # Copies first, in case a pipe end already is 3 or 4; dup2 leaves them inheritable.
            ends = os.dup(to_child), os.dup(from_child)
            for fd, end in zip((3, 4), ends, strict=True):
                os.dup2(end, fd)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("GLOROT_BROWSER_LOG") else subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=pipes,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method, session=self.session)
        self.call(
            "Network.emulateNetworkConditions",
            session=self.session,
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )

    # ---- the protocol ----------------------------------------------------------------------

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, *, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _wait_for(self, method: str) -> bool:
        deadline = time.monotonic() + self.timeout
        while True:
            if any(e.get("method") == method for e in self.events):
                return True
            try:
                self.events.append(self._message(deadline))
            except TimeoutError:
                return False

    # ---- pages -----------------------------------------------------------------------------

    def load(self, page: Path) -> PageReport:
        """Load ``page`` from disk and report its images, math and console errors."""
        report = PageReport(url=page.resolve().as_uri())
        self.events.clear()
        self.call("Page.navigate", session=self.session, url=report.url)
        report.loaded = self._wait_for("Page.loadEventFired")
        try:
            result = self._report()
        except NavigatedError:  # a page that redirects (the site's index): report on the target
            self.events.clear()
            report.loaded = self._wait_for("Page.loadEventFired")
            result = self._report()
        if "exceptionDetails" in result:
            report.errors.append(f"report script: {result['exceptionDetails'].get('text')}")
        else:
            for key, value in result["result"]["value"].items():
                setattr(report, key, value)
        report.errors += [errors for e in self.events if (errors := _error(e))]
        return report

    def _report(self) -> dict:
        try:
            return self.call(
                "Runtime.evaluate",
                session=self.session,
                expression=REPORT_JS,
                awaitPromise=True,
                returnByValue=True,
            )
        except RuntimeError as exc:
            if "navigated" in str(exc):
                raise NavigatedError(str(exc)) from exc
            raise

    def screenshot(self, page: Path, out: Path, *, width: int = 1280) -> None:
        """A full-page PNG of ``page``, ``width`` pixels wide."""
        self.call("Emulation.clearDeviceMetricsOverride", session=self.session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=self.session,
            width=width,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.load(page)
        height = self.call(
            "Runtime.evaluate",
            session=self.session,
            expression="document.documentElement.scrollHeight",
            returnByValue=True,
        )["result"]["value"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=self.session,
            width=width,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        import base64

        shot = self.call("Page.captureScreenshot", session=self.session, captureBeyondViewport=True)
        out.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _error(event: dict) -> str | None:
    """The text of a console error, an uncaught exception or a failed load; None otherwise."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return "exception: " + (details.get("exception", {}).get("description") or details["text"])
    if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        return "console: " + " ".join(
            str(a.get("value", a.get("description"))) for a in params["args"]
        )
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"log: {entry.get('text')} {entry.get('url', '')}".strip()
    return None
