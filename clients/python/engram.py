"""Stream any training loop into an Engram server: metrics, debug frames, and pause/step/stop from the browser.

Standard library and numpy only; Python >= 3.9. One file: copy it, or put its folder on ``sys.path``.

    import engram
    run = engram.Run("http://127.0.0.1:3000", name="copy-task", config={"nhid": 64})
    for it in range(1, 10_001):
        if not run.wait():          # blocks while paused; "step 3" lets exactly 3 iterations through
            break                   # the browser pressed stop
        loss = train_one_batch(lr=run.lr or 1e-4)
        run.log(it, loss=loss, grad_norm=gn)
        run.frame(it, {"memory": (memory, ["cell", "word"])})
    run.close()

Frames are sent on a background thread, so a slow server costs the loop nothing measurable. When the run honours
pause or step (the default), ``wait()`` asks the server before every iteration, sending the points logged since the
last call in the same request on a kept-alive connection: a pause lands at the very next iteration boundary and
"step 3" lets exactly 3 iterations through, for one small round trip per iteration. A loop created with
``controls=("stop", "lr")`` skips that question (its points go from the background thread too) and learns of a stop
from the sender's replies. Network errors never reach the training loop: the client warns once, keeps a bounded
buffer (the oldest frames are dropped first and counted in ``run.dropped_frames``) and retries. ``wait()`` returns
False on stop; while the server is unreachable it returns True rather than block training.
"""

from __future__ import annotations

import http.client
import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import deque
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["Run", "from_pytorch_dnc", "encode_frame", "PROTOCOL_VERSION"]

PROTOCOL_VERSION = 1
ALL_CONTROLS = ("pause", "step", "stop", "lr")
# The server takes at most 10,000 points and 1 MB per metrics body; batches stay well inside both.
_MAX_POINTS_PER_POST = 10_000
_MAX_POINTS_BODY = 512 * 1024
# Points a wait() did not carry (the loop stopped calling it) are sent by the sender thread after this long.
_LINGER_S = 0.2
# How long one POST /wait may hold while paused before it is asked again.
_WAIT_S = 20.0
_WAIT_BODY = json.dumps({"timeout_ms": int(_WAIT_S * 1000)}).encode("utf-8")
_DTYPES = {
    np.dtype("<f4"): "float32",
    np.dtype("<f8"): "float64",
    np.dtype("<f2"): "float16",
    np.dtype("u1"): "uint8",
    np.dtype("<i4"): "int32",
}

TensorLike = Union[np.ndarray, Tuple[Any, Sequence[str]]]


def _as_sendable(array: Any) -> Tuple[np.ndarray, str]:
    """A C-contiguous little-endian array of an accepted dtype (others become float32), and its dtype name."""
    a = np.asarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    if a.dtype not in _DTYPES:
        # bool, int64, float128, …: the server stores float32 anyway.
        a = a.astype("<f4")
    return np.ascontiguousarray(a), _DTYPES[a.dtype]


def encode_frame(iteration: int, tensors: Mapping[str, TensorLike], timesteps: Optional[int] = None) -> bytes:
    """The binary body of ``POST /api/runs/:id/frames``: u32 LE header length, JSON header, raw tensor bytes."""
    header: Dict[str, Any] = {"iteration": int(iteration), "tensors": []}
    if timesteps is not None:
        header["timesteps"] = int(timesteps)
    chunks: List[bytes] = []
    for name, value in tensors.items():
        axes: Optional[Sequence[str]] = None
        if isinstance(value, tuple):
            value, axes = value
        array, dtype = _as_sendable(value)
        entry: Dict[str, Any] = {"name": str(name), "shape": list(array.shape), "dtype": dtype}
        if axes is not None:
            entry["axes"] = [str(a) for a in axes]
        header["tensors"].append(entry)
        chunks.append(array.tobytes())
    head = json.dumps(header).encode("utf-8")
    return struct.pack("<I", len(head)) + head + b"".join(chunks)


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinities: the server reads these strings back as the numbers."""
    v = float(value)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


class EngramError(Exception):
    """An error answer from the server: ``code`` from the protocol's closed set, ``details`` naming tensor/field."""

    def __init__(self, status: int, code: str, message: str, details: Optional[dict] = None):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or {}


class Run:
    """One external run on an Engram server. See the module docstring for the loop it fits in.

    ``run_id`` reattaches to an existing run (a trainer that restarted continues its run). ``controls`` are the
    browser controls this loop obeys (all by default; a loop that never calls ``wait()`` should pass ``()``).
    ``raise_errors=True`` makes network errors raise instead of warning (for tests and scripts).
    """

    def __init__(
        self,
        url: str,
        name: Optional[str] = None,
        config: Optional[Mapping[str, Any]] = None,
        token: Optional[str] = None,
        run_id: Optional[str] = None,
        controls: Iterable[str] = ALL_CONTROLS,
        max_buffered_frames: int = 64,
        max_buffered_points: int = 100_000,
        heartbeat_s: float = 3.0,
        timeout_s: float = 10.0,
        raise_errors: bool = False,
    ):
        self.url = url.rstrip("/")
        self.token = token
        self.controls = list(controls)
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s
        self.raise_errors = raise_errors
        self.dropped_frames = 0
        self.dropped_points = 0
        self.id: Optional[str] = run_id
        self._name = name
        self._config = dict(config or {})
        self._control: Dict[str, Any] = {"action": "run", "state": "running", "lr": None}
        # Points are kept JSON-encoded, so a batch's body is a join and its size known before it is sent.
        self._points: deque = deque(maxlen=max_buffered_points)
        self._frames: deque = deque(maxlen=max_buffered_frames)
        self._lock = threading.Condition()
        # One points POST at a time (sender thread or wait()), taken and sent under it, so batches arrive in order.
        self._send_lock = threading.Lock()
        # Pause or step honoured: wait() asks the server before every iteration, carrying the queued points.
        self._asks = "pause" in self.controls or "step" in self.controls
        self._closing = False
        self._flush_wanted = False
        self._sending = False
        self._warned = False
        self._refused: set = set()
        self._reachable = True
        self._last_call = 0.0
        # The training thread's own kept-alive connection for wait(): asking before each iteration costs one round
        # trip, not a new TCP connection each time.
        self._loop_connection: Optional[http.client.HTTPConnection] = None
        self._ensure_run()
        self._thread = threading.Thread(target=self._send_loop, name="engram-sender", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------ training side

    @property
    def lr(self) -> Optional[float]:
        """The learning rate set from the browser, or None while nobody changed it."""
        return self._control.get("lr")

    @property
    def state(self) -> str:
        return self._control.get("state", "running")

    def log(self, iteration: int, loss: Optional[float] = None, **scalars: float) -> None:
        """Queue one metric point. Any keyword becomes a named scalar (a curve of its own on the page).

        When the run honours pause or step, the next ``wait()`` sends it (its reply is the go-ahead); otherwise, or
        when no ``wait()`` comes within a fraction of a second, the sender thread does."""
        point: Dict[str, Any] = {"iteration": int(iteration), "t": time.time() * 1000.0}
        if loss is not None:
            point["loss"] = _json_number(loss)
        for key, value in scalars.items():
            point[key] = _json_number(value)
        encoded = json.dumps(point)
        with self._lock:
            if len(self._points) == self._points.maxlen:
                self.dropped_points += 1
            self._points.append(encoded)
            if not self._asks:
                self._lock.notify()

    def frame(self, iteration: int, tensors: Mapping[str, TensorLike], timesteps: Optional[int] = None) -> None:
        """Queue one iteration's tensors: ``{name: array}`` or ``{name: (array, axis_labels)}``. The bytes are
        copied now, so the caller may reuse its arrays."""
        body = encode_frame(iteration, tensors, timesteps)
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.dropped_frames += 1
            self._frames.append(body)
            self._lock.notify()

    def wait(self) -> bool:
        """Call before each iteration. True: go on (one iteration). False: the run was stopped (or finished).

        Returns at once while the run is running; blocks while it is paused; after "step n" returns True exactly n
        times, then blocks again. When the run honours pause or step, every call asks the server (sending the points
        logged since the last call in the same request), so a pause pressed during an iteration blocks the very next
        call. While the server is unreachable it returns True (training never hangs on it).
        """
        ask = self._asks and self.id is not None and self._reachable
        while True:
            action = self._control.get("action")
            if action == "stop":
                return False
            if action == "run" and not ask:
                return True
            try:
                reply = self._ask_to_go()
            except Exception as error:  # noqa: BLE001 - the loop must not break on the network
                self._network_error(error)
                return True
            self._control = reply["control"]
            if reply.get("go"):
                return True
            if self._control.get("action") == "stop":
                return False

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued was sent (True) or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._flush_wanted = True
            self._lock.notify_all()
            try:
                while self._points or self._frames or self._sending:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._lock.wait(min(remaining, 0.05))
            finally:
                self._flush_wanted = False
        return True

    def close(self, state: str = "finished", message: Optional[str] = None, timeout_s: float = 10.0) -> None:
        """Send what is queued, then end the run (``finished``, or ``failed`` with ``message``)."""
        self.flush(timeout_s)
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._thread.join(timeout_s)
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        if self.id is None:
            return
        body: Dict[str, Any] = {"state": state}
        if message is not None:
            body["message"] = message
        try:
            self._call("POST", f"/api/runs/{self.id}/close", body)
        except Exception as error:  # noqa: BLE001
            self._network_error(error)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("failed" if exc is not None else "finished", None if exc is None else repr(exc))

    # ------------------------------------------------------------------------------------------ sender thread

    def _ensure_run(self) -> bool:
        try:
            if self.id is None:
                body: Dict[str, Any] = {"external": True, "config": self._config, "controls": self.controls}
                if self._name is not None:
                    body["name"] = self._name
                self.id = self._call("POST", "/api/runs", body)["id"]
            else:
                self._control = self._call("POST", f"/api/runs/{self.id}/heartbeat", {"controls": self.controls})[
                    "control"
                ]
            return True
        except EngramError:
            raise
        except Exception as error:  # noqa: BLE001
            self._network_error(error)
            return False

    def _ensure_run_quietly(self) -> bool:
        try:
            return self._ensure_run()
        except Exception:  # noqa: BLE001 - the sender thread retries
            return False

    def _sender_should_send(self) -> bool:
        # With wait() carrying points, the sender leaves them to it unless flushing, closing or they lingered.
        return bool(self._closing or self._frames or self._flush_wanted or (self._points and not self._asks))

    def _send_loop(self) -> None:
        backoff = 0.25
        while True:
            with self._lock:
                deadline = time.monotonic() + self.heartbeat_s
                while not self._sender_should_send():
                    remaining = deadline - time.monotonic()
                    if self._points:
                        remaining = min(remaining, _LINGER_S)
                    if remaining <= 0 or not self._lock.wait(remaining):
                        break
                if self._closing and not (self._points or self._frames):
                    return
                frame = self._frames.popleft() if self._frames else None
                self._sending = True
            try:
                if self.id is None and not self._ensure_run_quietly():
                    raise ConnectionError("no run yet")
                sent = self._send_points(self._post)
                if frame is not None:
                    self._control = self._call_binary(f"/api/runs/{self.id}/frames", frame)["control"]
                if not sent and frame is None and time.monotonic() - self._last_call >= self.heartbeat_s:
                    self._control = self._call("POST", f"/api/runs/{self.id}/heartbeat", {})["control"]
                backoff = 0.25
            except EngramError as error:
                self._refuse(error)
            except Exception as error:  # noqa: BLE001 - keep the data and retry later
                with self._lock:
                    if frame is not None and len(self._frames) < (self._frames.maxlen or 0):
                        self._frames.appendleft(frame)
                    elif frame is not None:
                        self.dropped_frames += 1
                self._network_error(error, in_thread=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with self._lock:
                    self._sending = False
                    self._lock.notify_all()

    def _send_points(self, post: Any) -> bool:
        """Send every queued point in order, in bodies the server accepts, keeping each reply's control. A batch the
        server refuses is dropped (said once per kind); on a network error the batch goes back to the queue's head
        and the error is raised. True when any points were sent."""
        sent = False
        with self._send_lock:
            while True:
                with self._lock:
                    batch: List[str] = []
                    size = 0
                    while self._points and len(batch) < _MAX_POINTS_PER_POST:
                        size += len(self._points[0]) + 1
                        if batch and size > _MAX_POINTS_BODY:
                            break
                        batch.append(self._points.popleft())
                if not batch:
                    return sent
                body = ('{"points":[' + ",".join(batch) + "]}").encode("utf-8")
                try:
                    self._control = post(f"/api/runs/{self.id}/metrics", body)["control"]
                    sent = True
                except EngramError as error:
                    self._refuse(error)
                except Exception:
                    with self._lock:
                        for point in reversed(batch):
                            self._points.appendleft(point)
                    raise

    def _ask_to_go(self) -> Any:
        """One iteration's question: the queued points go first, on the training thread's connection, and a running
        run's reply to them is the go-ahead; otherwise (nothing queued, paused, stepping, stopped) ``POST /wait``
        answers, holding while paused and granting one iteration of a step."""
        if self._send_points(self._loop_post) and self._control.get("action") == "run":
            return {"go": True, "control": self._control}
        return self._loop_post(f"/api/runs/{self.id}/wait", _WAIT_BODY)

    # ------------------------------------------------------------------------------------------ HTTP

    def _refuse(self, error: EngramError) -> None:
        """The server refused this data (a bad point or frame, a finished run): say so once per kind, go on."""
        if error.code not in self._refused:
            self._refused.add(error.code)
            warnings.warn(f"engram: server refused data: {error}", stacklevel=3)

    def _network_error(self, error: Exception, in_thread: bool = False) -> None:
        if self.raise_errors and not in_thread:
            raise error
        self._reachable = False
        if not self._warned:
            self._warned = True
            warnings.warn(f"engram: server {self.url} unreachable ({error}); buffering and retrying", stacklevel=3)

    def _headers(self, content_type: str) -> Dict[str, str]:
        headers = {"content-type": content_type}
        if self.token:
            headers["x-engram-token"] = self.token
        return headers

    def _call(self, method: str, path: str, body: Any, timeout: Optional[float] = None) -> Any:
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data, self._headers("application/json"), method=method)
        return self._send(request, timeout)

    def _post(self, path: str, body: bytes) -> Any:
        """POST an encoded JSON body (the sender thread's way)."""
        request = urllib.request.Request(self.url + path, body, self._headers("application/json"), method="POST")
        return self._send(request, None)

    def _loop_post(self, path: str, body: bytes) -> Any:
        """POST an encoded JSON body on the training thread's kept-alive connection; a connection the server closed
        while idle is opened again once."""
        parts = urllib.parse.urlsplit(self.url)
        for attempt in (1, 2):
            connection = self._loop_connection
            if connection is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                connection = self._loop_connection = kind(parts.netloc, timeout=_WAIT_S + self.timeout_s)
            try:
                connection.request("POST", parts.path + path, body, self._headers("application/json"))
                response = connection.getresponse()
                text = response.read().decode("utf-8")
            except (http.client.HTTPException, OSError):
                connection.close()
                self._loop_connection = None
                if attempt == 2:
                    raise
                continue
            try:
                answer = json.loads(text)
            except ValueError as error:
                raise ConnectionError(f"HTTP {response.status} without an Engram answer") from error
            if not answer.get("ok"):
                problem = answer.get("error", {})
                raise EngramError(
                    response.status, problem.get("code", "?"), problem.get("message", ""), problem.get("details")
                )
            self._last_call = time.monotonic()
            return answer["data"]
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _call_binary(self, path: str, body: bytes) -> Any:
        return self._send(
            urllib.request.Request(self.url + path, body, self._headers("application/octet-stream"), method="POST"),
            None,
        )

    def _send(self, request: urllib.request.Request, timeout: Optional[float]) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout_s) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read().decode("utf-8"))
            except Exception:  # noqa: BLE001
                raise ConnectionError(f"HTTP {error.code} without an Engram answer") from error
            problem = answer.get("error", {})
            raise EngramError(error.code, problem.get("code", "?"), problem.get("message", ""), problem.get("details"))
        self._last_call = time.monotonic()
        if not self._reachable:
            self._reachable = True
            self._warned = False
        return answer["data"]


# ---------------------------------------------------------------------------------------------- pytorch-dnc

# pytorch-dnc debug key -> (Engram tensor name, axes after the leading time axis); names as the engine's frames.
_DENSE_KEYS = {
    "memory": ("memory", ["cell", "word"]),
    "link_matrix": ("linkMatrix", ["cell", "cell"]),
    "precedence": ("precedence", ["cell"]),
    "read_weights": ("readWeights", ["head", "cell"]),
    "write_weights": ("writeWeights", ["head", "cell"]),
    "usage_vector": ("usage", ["cell"]),
}
_SPARSE_KEYS = {
    "memory": ("memory", ["cell", "word"]),
    "visible_memory": ("visibleMemory", ["slot", "word"]),
    "link_matrix": ("linkMatrix", ["slot", "slot"]),
    "rev_link_matrix": ("reverseLinkMatrix", ["slot", "slot"]),
    "precedence": ("precedence", ["slot"]),
    "read_weights": ("readWeights", ["head", "slot"]),
    "write_weights": ("writeWeights", ["head", "slot"]),
    "read_vectors": ("readVectors", ["head", "word"]),
    "least_used_mem": ("leastUsedMemory", ["index"]),
    "usage": ("usage", ["slot"]),
    "read_positions": ("readPositions", ["slot"]),
}


def from_pytorch_dnc(debug: Mapping[str, Sequence[Any]]) -> Dict[str, Tuple[np.ndarray, List[str]]]:
    """Turn pytorch-dnc's debug output (the last value ``model(..., debug=True)`` returns) into frame tensors.

    Each entry of ``debug`` is a list with one array per timestep, which pytorch-dnc flattens to ``[rows, -1]``.
    The result keeps the timestep axis first (``time``), so the page's timestep slider works as for engine runs,
    and un-flattens what was flattened: memories ``[T, cells, word]``, link matrices ``[T, N, N]``, weightings
    ``[T, heads, cells]``, vectors ``[T, cells]``. Dense (DNC) and sparse (SDNC, SAM) outputs are told apart by
    ``visible_memory``; tensor names are the engine's (``linkMatrix``, ``readWeights``, ``usage``, …). Unknown keys
    are kept as they are, stacked over time.
    """
    sparse = "visible_memory" in debug
    table = _SPARSE_KEYS if sparse else _DENSE_KEYS

    def first(key: str) -> Optional[np.ndarray]:
        steps = debug.get(key)
        return None if not steps else np.asarray(steps[0])

    memory = first("memory")
    words = None if memory is None else memory.reshape(memory.shape[0], -1).shape[1]
    cells_source = first("visible_memory") if sparse else memory
    cells = None if cells_source is None else cells_source.shape[0]
    out: Dict[str, Tuple[np.ndarray, List[str]]] = {}
    for key, steps in debug.items():
        if len(steps) == 0:
            continue
        stacked = np.stack([np.asarray(step, dtype=np.float32) for step in steps])  # [T, ...]
        timesteps = stacked.shape[0]
        if key not in table:
            out[key] = (stacked, ["time"] + [f"dim{i}" for i in range(stacked.ndim - 1)])
            continue
        name, axes = table[key]
        flat = stacked.reshape(timesteps, -1)
        if axes[-1] == "word" and words:
            array = flat.reshape(timesteps, -1, words)
        elif len(axes) == 2 and axes[0] == axes[1]:
            side = int(round(flat.shape[1] ** 0.5))
            array = flat.reshape(timesteps, side, side)
        elif axes[0] == "head":
            per_head = cells if cells and flat.shape[1] % cells == 0 else flat.shape[1]
            array = flat.reshape(timesteps, -1, per_head)
        else:
            array = flat
        out[name] = (array, ["time"] + axes)
    return out
