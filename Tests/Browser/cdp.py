"""A small client of Chromium's DevTools protocol, for the browser tests: start a headless
Chromium, open a page, evaluate script in it, wait for a condition with a deadline, collect the
page's script errors, take a screenshot. Needs websocket-client (scripts/deps.sh test)."""
import base64, json, os, shutil, subprocess, tempfile, time, urllib.request

import websocket


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("cdp: no chromium on PATH (scripts/deps.sh test installs it)")


class Browser:
    def __init__(self, width=1500, height=1000):
        self.profile = tempfile.mkdtemp(prefix="crc-cdp-")
        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--remote-debugging-port=0", "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
             "--no-first-run", "--no-default-browser-check", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit("cdp: chromium did not open its DevTools port")
            time.sleep(0.05)  # the poll interval of a wait with a deadline
        self.port = int(open(port_file).read().split()[0])
        self.ws = None
        self.next_id = 0
        self.events = []
        self.errors = []

    def open(self, url):
        req = urllib.request.Request("http://127.0.0.1:%d/json/new?%s" % (self.port, url), method="PUT")
        target = json.loads(urllib.request.urlopen(req, timeout=10).read())
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(domain)

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg):
        method = msg.get("method", "")
        p = msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: %s %s" % (d.get("text"), (d.get("exception") or {}).get("description", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console.error: %s" % [a.get("value") for a in p.get("args", [])])
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            # The page asks for no favicon; Chromium's own request for one is not the page's error.
            if "favicon" not in (e.get("url") or ""):
                self.errors.append("log: %s %s" % (e.get("text"), e.get("url", "")))

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("in the page: %s: %s" % (expression[:80], r["exceptionDetails"].get("exception", {}).get("description")))
        return r.get("result", {}).get("value")

    def wait(self, expression, timeout=20, what=None):
        deadline = time.time() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            if time.time() > deadline:
                raise AssertionError("waited %.0f s for %s" % (timeout, what or expression))
            time.sleep(0.05)  # the poll interval of a wait with a deadline

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.ws:
                self.ws.close()
        finally:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)
