#!/usr/bin/env python3
"""Test-only: drive the real Visdom Python client (from a visdom source snapshot, not part of this repository)
through the calls Engram must support, and either

  --record OUT.json   against a small recording server written here, which answers as Visdom's server does
                      (window id, "true"/"false", JSON lists) and writes every request/response pair to OUT.json;
  --drive URL         against a running server (Engram), printing the client's return values as JSON.

The pairs in recordings.json are replayed against Engram's server by server/visdom/replay.test.ts; the drive
mode is the end-to-end test in server/visdom/client.test.ts.

Usage: PYTHONPATH=<visdom snapshot>/py python3 record.py (--record OUT.json | --drive http://127.0.0.1:PORT)
       [--base-url /visdom]
"""
import argparse
import base64
import copy
import hashlib
import json
import socket
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

# --- shims for what the snapshot lacks (its utils package); only the window-id helper is used by the client ---
utils = types.ModuleType("visdom.utils")
shared_utils = types.ModuleType("visdom.utils.shared_utils")
shared_utils.get_new_window_id = lambda: "window_shim"
utils.shared_utils = shared_utils
sys.modules.setdefault("visdom.utils", utils)
sys.modules.setdefault("visdom.utils.shared_utils", shared_utils)

from visdom import Visdom  # noqa: E402  (after the shims)


# ------------------------------------------------------------------------------------------ recording server
class RecordingState:
    """Visdom's answers, per its server's handlers: envs of windows; nothing is drawn."""

    def __init__(self):
        self.envs = {"main": {}}
        self.exchanges = []
        self.lock = threading.Lock()

    def answer(self, path, body):
        args = json.loads(body) if body else {}
        eid = (args.get("eid") or "main").replace("/", "_")
        if path.startswith("/env/"):
            self.envs.setdefault(eid, {})
            return ""
        env = self.envs.setdefault(eid, {})
        if path == "/events":
            win = args.get("win") or "window_server"
            env[win] = {"type": args["data"][0]["type"], "data": args["data"]}
            return win
        if path == "/update":
            win = args.get("win")
            if win not in env:
                if args.get("append"):
                    env[win] = {"type": args["data"][0]["type"], "data": args["data"]}
                    return win
                return "win does not exist"
            kind = env[win]["type"]
            if kind not in ("scatter", "scattergl", "custom", "heatmap", "text", "image_history"):
                return (
                    "win is not scatter, heatmap, custom, image_history, embeddings, or text; was {}".format(kind)
                )
            return win
        if path == "/win_exists":
            return "true" if args.get("win") in env else "false"
        if path == "/close":
            win = args.get("win")
            for w in list(env) if win is None else [win]:
                env.pop(w, None)
            return ""
        if path == "/env_state":
            return json.dumps(list(self.envs))
        if path == "/save":
            return json.dumps([e for e in args["data"] if e in self.envs])
        if path == "/delete_env":
            self.envs.pop(eid, None)
            return ""
        if path == "/fork_env":
            prev = args["prev_eid"].replace("/", "_")
            assert prev in self.envs, "env to be forked doesn't exist"
            self.envs[eid] = copy.deepcopy(self.envs[prev])
            return eid
        if path == "/win_data":
            win = args.get("win")
            if "data" in args:  # set_window_data: the pane(s) get_window_data answered, as JSON text
                data = json.loads(args["data"])
                panes = data if win is None else {win: data}
                if win is None:
                    env.clear()
                for w, p in panes.items():
                    kind = p["type"]
                    text = [{"content": p["content"], "type": kind}]
                    env[w] = {"type": kind, "data": text if kind == "text" else p["content"]["data"]}
                return ""
            if win is None:
                return json.dumps({w: self.pane(w, v) for w, v in env.items()})
            return json.dumps(self.pane(win, env[win]))
        raise KeyError(path)


    @staticmethod
    def pane(win, window):
        """A window as Visdom's /win_data answers it: text as its characters, plots as their traces."""
        if window["type"] == "text":
            return {"id": win, "type": "text", "content": window["data"][0]["content"]}
        return {"id": win, "type": window["type"], "content": {"data": window["data"]}}


def make_handler(state, base):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            path = self.path[len(base):] if self.path.startswith(base) else self.path
            try:
                status, text = 200, state.answer(path, body)
            except Exception:  # Visdom answers its failures with an empty 500
                status, text = 500, ""
            with state.lock:
                state.exchanges.append(
                    {
                        "method": "POST",
                        "path": path,
                        "contentType": self.headers.get("Content-Type"),
                        "body": body,
                        "status": status,
                        "response": text,
                    }
                )
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path[len(base):] if self.path.startswith(base) else self.path
            if path == "/vis_socket" and self.headers.get("Upgrade", "").lower() == "websocket":
                self.vis_socket()
                return
            self.send_response(404)
            self.end_headers()

        def vis_socket(self):
            key = self.headers["Sec-WebSocket-Key"]
            accept = base64.b64encode(
                hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
            ).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            message = json.dumps({"command": "alive", "data": "vis_alive"}).encode()
            self.wfile.write(bytes([0x81, len(message)]) + message)
            self.wfile.flush()
            with state.lock:
                state.exchanges.append({"method": "GET", "path": "/vis_socket", "status": 101, "message": message.decode()})
            try:  # hold the socket open until the client goes
                while self.connection.recv(1024):
                    pass
            except OSError:
                pass
            self.close_connection = True

    return Handler


# ------------------------------------------------------------------------------------------ the client's calls
def scenario(viz):
    """Every call, with its return value. Small arrays: the recording stays readable."""
    results = []

    def call(name, fn):
        results.append({"call": name, "result": fn()})

    call("check_connection", lambda: viz.check_connection())
    rng = np.random.RandomState(0)

    # pytorch-dnc's tasks/copy_task.py --visdom (dense DNC): six heatmaps per summary, titles carrying t and loss,
    # no win, exactly these opts.
    quantities = [
        ("Memory", "layer * time", "mem_slot * mem_size", (4, 24)),
        ("Link Matrix", "mem_slot", "mem_slot", (6, 6)),
        ("Precedence", "layer * time", "mem_slot", (4, 6)),
        ("Read Weights", "layer * time", "nr_read_heads * mem_slot", (4, 12)),
        ("Write Weights", "layer * time", "mem_slot", (4, 6)),
        ("Usage Vector", "layer * time", "mem_slot", (4, 6)),
    ]
    for epoch, avg_loss in ((0, 0.6931), (100, 0.5312), (200, float("nan"))):
        for title, ylabel, xlabel, shape in quantities:
            call(
                "dnc " + title,
                lambda title=title, ylabel=ylabel, xlabel=xlabel, shape=shape, epoch=epoch, avg_loss=avg_loss: (
                    viz.heatmap(
                        np.round(rng.rand(*shape), 4),
                        opts=dict(
                            xtickstep=10,
                            ytickstep=2,
                            title=f"{title}, t: {epoch}, loss: {avg_loss:.4f}",
                            ylabel=ylabel,
                            xlabel=xlabel,
                        ),
                    )
                ),
            )

    # A named heatmap window and its updates.
    call("heatmap mem", lambda: viz.heatmap(np.arange(12.0).reshape(3, 4) / 10, win="mem", opts={"title": "memory"}))
    call("heatmap replace", lambda: viz.heatmap(np.ones((3, 4)), win="mem", update="replace"))
    call("heatmap appendRow", lambda: viz.heatmap(np.zeros((1, 4)), win="mem", update="appendRow"))
    call("heatmap appendColumn", lambda: viz.heatmap(np.full((4, 2), 2.0), win="mem", update="appendColumn"))
    call("heatmap nan", lambda: viz.heatmap(np.array([[1.0, np.nan], [np.inf, 0.5]]), win="nan", opts={"title": "nan"}))

    # Lines: create, append (the client asks win_exists first), a named trace, replace, remove, append-to-create.
    call("line create", lambda: viz.line(Y=np.array([0.9, 0.8]), X=np.array([0, 1]), win="loss", opts={"title": "loss"}))
    call("line append", lambda: viz.line(Y=np.array([0.7]), X=np.array([2]), win="loss", update="append"))
    call("line append 2", lambda: viz.line(Y=np.array([0.65, 0.6]), X=np.array([3, 4]), win="loss", update="append"))
    call("line new name", lambda: viz.line(Y=np.array([1.0]), X=np.array([0]), win="loss", update="append", name="val"))
    call("line append name", lambda: viz.line(Y=np.array([0.95]), X=np.array([1]), win="loss", update="append", name="val"))
    call("line masked", lambda: viz.line(Y=np.array([5.0]), X=np.array([np.nan]), win="loss", update="append", name="val"))
    call("line replace", lambda: viz.line(Y=np.array([0.5, 0.4]), X=np.array([0, 1]), win="loss", update="replace", name="1"))
    call("line remove", lambda: viz.line(Y=None, win="loss", update="remove", name="val"))
    call("line append creates", lambda: viz.line(Y=np.array([1.0]), X=np.array([0]), win="acc", update="append"))
    call("line two columns", lambda: viz.line(Y=np.array([[1.0, 2.0], [3.0, 4.0]]), X=np.array([0, 1]), win="two"))
    call("scatter", lambda: viz.scatter(X=np.array([[0.0, 1.0], [1.0, 0.5]]), win="points", opts={"title": "points"}))
    call("bar", lambda: viz.bar(X=np.array([3.0, 1.0, 2.0]), win="bars", opts={"title": "bars"}))
    call("bar update refused", lambda: viz.line(Y=np.array([1.0]), X=np.array([1]), win="bars", update="append"))

    # Text, appended text, text that Visdom would execute as HTML.
    call("text", lambda: viz.text("hello <b>world</b>", win="log"))
    call("text append", lambda: viz.text("second line", win="log", append=True))
    call("text script", lambda: viz.text("<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">", win="evil"))

    # Images: a grid, a single image, an image history.
    call("images", lambda: viz.images(np.zeros((4, 1, 8, 8)), nrow=2, win="reads", opts={"caption": "read weights"}))
    call("image", lambda: viz.image(np.ones((3, 8, 8)), win="one", opts={"caption": "ones"}))
    call("image history 1", lambda: viz.image(np.zeros((3, 8, 8)), win="hist", opts={"store_history": True}))
    call("image history 2", lambda: viz.image(np.ones((3, 8, 8)), win="hist", opts={"store_history": True}))

    # Window and env management.
    call("update opts", lambda: viz.update_window_opts(win="loss", opts={"title": "training loss"}))
    call("win_exists yes", lambda: viz.win_exists("loss"))
    call("win_exists no", lambda: viz.win_exists("nothing"))
    call("win_data", lambda: json.loads(viz.get_window_data("log"))["id"])
    call("set_window_data", lambda: viz.set_window_data(viz.get_window_data("log"), win="log copy"))
    call("win_data of the copy", lambda: json.loads(viz.get_window_data("log copy"))["type"])
    call("fork env", lambda: viz.fork_env("main", "forked"))
    call("win_exists in fork", lambda: [viz.win_exists(w, env="forked") for w in ("loss", "log", "mem", "nothing")])
    call("close", lambda: viz.close("one"))
    call("win_exists closed", lambda: viz.win_exists("one"))
    call("other env", lambda: viz.text("in another env", win="note", env="exp/2"))
    call("env list", lambda: sorted(viz.get_env_list()))
    call("save", lambda: viz.save(["main", "exp_2", "missing"]))
    call("delete env", lambda: viz.delete_env("exp_2"))
    call("env list after delete", lambda: sorted(viz.get_env_list()))
    call("close all", lambda: viz.close(None, env="main"))
    call("win_exists after close all", lambda: viz.win_exists("loss"))
    return results


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record")
    parser.add_argument("--drive")
    parser.add_argument("--base-url", default="/")
    args = parser.parse_args()
    base = "" if args.base_url == "/" else args.base_url
    if args.record:
        state = RecordingState()
        port = free_port()
        server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(state, base))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        viz = Visdom(server="http://127.0.0.1", port=port, base_url=args.base_url, raise_exceptions=True)
        results = scenario(viz)
        server.shutdown()
        with open(args.record, "w") as f:
            json.dump(
                {
                    "client": "visdom Python client 0.2.4 (fossasia/visdom snapshot), recorded by record.py",
                    "exchanges": state.exchanges,
                    "results": results,
                },
                f,
                indent=1,
            )
            f.write("\n")
        return
    url = args.drive.rsplit(":", 1)
    viz = Visdom(server=url[0], port=int(url[1]), base_url=args.base_url, raise_exceptions=True)
    print(json.dumps(scenario(viz)))


if __name__ == "__main__":
    main()
