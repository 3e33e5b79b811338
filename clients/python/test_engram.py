"""Tests of the Python client against a real Engram server (ENGRAM_URL; `npm test` starts one and runs these)."""

import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.request
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engram  # noqa: E402

URL = os.environ.get("ENGRAM_URL", "http://127.0.0.1:3000")


def api(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data, {"content-type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def wait_until(what, condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Loop:
    """A training loop on its own thread that asks before every iteration, as a user's loop would."""

    def __init__(self, run):
        self.run = run
        self.iterations = 0
        self.stopped = False
        self.thread = threading.Thread(target=self.main, daemon=True)
        self.thread.start()

    def main(self):
        while self.run.wait():
            self.iterations += 1
            self.run.log(self.iterations, loss=1.0 / self.iterations)
            self.between_iterations()
        self.stopped = True

    def between_iterations(self):
        time.sleep(0.002)


class GatedLoop(Loop):
    """A loop whose iterations the test lets through one permit at a time, so where a pause lands is known exactly."""

    def __init__(self, run):
        self.gate = threading.Semaphore(0)
        super().__init__(run)

    def between_iterations(self):
        self.gate.acquire()


class ClientTest(unittest.TestCase):
    def test_metrics_and_frames_arrive_exactly(self):
        run = engram.Run(URL, name="py-exact", config={"model": "dnc"}, raise_errors=True)
        memory = np.random.default_rng(1).standard_normal((3, 4, 5))
        for it in range(1, 21):
            run.log(it, loss=1.0 / it, accuracy=it / 20, grad_norm=float("nan") if it == 7 else it)
            if it % 5 == 0:
                run.frame(
                    it,
                    {
                        "memory": (memory * it, ["time", "cell", "word"]),
                        "usage": np.arange(4, dtype=np.uint8),
                        "gate": np.array([np.inf], dtype=np.float16),
                    },
                )
        self.assertTrue(run.flush())
        points = api("GET", f"/api/runs/{run.id}/metrics")
        self.assertEqual([p["iteration"] for p in points], list(range(1, 21)))
        self.assertAlmostEqual(points[3]["loss"], 0.25)
        self.assertEqual(points[9]["scalars"], {"accuracy": 0.5, "grad_norm": 10})
        self.assertIsNone(points[6]["scalars"]["grad_norm"])  # NaN, answered as JSON null
        self.assertEqual(api("GET", f"/api/runs/{run.id}/frames")["iterations"], [5, 10, 15, 20])
        frame = api("GET", f"/api/runs/{run.id}/frames/10")
        tensors = {t["name"]: t for t in frame["tensors"]}
        self.assertEqual(frame["timesteps"], 3)
        self.assertEqual(tensors["memory"]["shape"], [3, 4, 5])
        np.testing.assert_allclose(tensors["memory"]["data"], (memory * 10).astype(np.float32).ravel(), rtol=1e-6)
        self.assertEqual(tensors["usage"]["data"], [0, 1, 2, 3])
        self.assertEqual(tensors["gate"]["nonFinite"], {"nan": 0, "posInf": 1, "negInf": 0})
        run.close()
        self.assertEqual(api("GET", f"/api/runs/{run.id}")["state"], "finished")

    def test_pause_holds_step_3_is_exactly_3_lr_reaches_the_loop_stop_ends(self):
        run = engram.Run(URL, name="py-controls", raise_errors=True)
        loop = Loop(run)
        wait_until("the loop to run", lambda: loop.iterations >= 5)
        api("POST", f"/api/runs/{run.id}/pause")
        wait_until("the loop to block", lambda: api("GET", f"/api/runs/{run.id}")["client"]["waiting"])
        held = loop.iterations
        # Another round trip while blocked: the loop has not moved.
        self.assertEqual(api("GET", f"/api/runs/{run.id}")["state"], "paused")
        self.assertEqual(loop.iterations, held)

        api("POST", f"/api/runs/{run.id}/step", {"n": 3})

        def blocked_after_step():
            summary = api("GET", f"/api/runs/{run.id}")
            return summary["state"] == "paused" and summary["client"]["waiting"]

        wait_until("3 iterations, then blocked again", lambda: loop.iterations > held and blocked_after_step())
        self.assertEqual(loop.iterations, held + 3)

        api("POST", f"/api/runs/{run.id}/configure", {"lr": 0.0025})
        api("POST", f"/api/runs/{run.id}/resume")
        wait_until("the loop to run on", lambda: loop.iterations > held + 10)
        wait_until("the lr to reach the loop", lambda: run.lr == 0.0025)
        api("POST", f"/api/runs/{run.id}/stop")
        loop.thread.join(10)
        self.assertTrue(loop.stopped, "wait() returned False on stop")
        run.flush()
        self.assertEqual(api("GET", f"/api/runs/{run.id}")["state"], "stopped")

    def test_a_pause_lands_at_the_next_iteration_boundary_and_step_3_logs_exactly_3(self):
        run = engram.Run(URL, name="py-exact-pause", raise_errors=True)
        loop = GatedLoop(run)
        for _ in range(5):
            loop.gate.release()
        # Five iterations went through; the sixth has started and holds at the gate.
        wait_until("iteration 6 to start", lambda: loop.iterations == 6)
        api("POST", f"/api/runs/{run.id}/pause")
        # Iteration 6 was under way when the pause came: it may end, but no seventh may start, however far the gate
        # lets the loop go.
        for _ in range(100):
            loop.gate.release()
        wait_until("the loop to block", lambda: api("GET", f"/api/runs/{run.id}")["client"]["waiting"])
        self.assertEqual(loop.iterations, 6)

        api("POST", f"/api/runs/{run.id}/step", {"n": 3})

        def blocked_after_step():
            summary = api("GET", f"/api/runs/{run.id}")
            return summary["state"] == "paused" and summary["client"]["waiting"]

        wait_until("3 iterations, then blocked again", lambda: loop.iterations > 6 and blocked_after_step())
        self.assertEqual(loop.iterations, 9)
        self.assertTrue(run.flush())
        points = api("GET", f"/api/runs/{run.id}/metrics")
        self.assertEqual([p["iteration"] for p in points], list(range(1, 10)), "exactly 3 more iterations logged")

        api("POST", f"/api/runs/{run.id}/stop")
        loop.thread.join(10)
        self.assertTrue(loop.stopped)

    def test_a_burst_of_points_larger_than_one_request_arrives_whole_and_in_order(self):
        run = engram.Run(URL, name="py-burst", raise_errors=True)
        for it in range(1, 25_001):
            run.log(it, loss=1.0 / it, accuracy=0.5)
        self.assertTrue(run.flush(30))
        points = api("GET", f"/api/runs/{run.id}/metrics?limit=50000")
        self.assertEqual([p["iteration"] for p in points], list(range(1, 25_001)))
        run.close()

    def test_a_server_that_goes_away_never_raises_into_the_loop(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = engram.Run(dead, name="nobody", max_buffered_frames=4, timeout_s=0.5)
            for it in range(1, 11):
                self.assertTrue(run.wait())
                run.log(it, loss=1.0)
                run.frame(it, {"memory": np.zeros((8, 8))})
            wait_until("frames to be dropped", lambda: run.dropped_frames >= 5)
            run.close(timeout_s=0.5)
        self.assertIsNone(run.id)
        self.assertLessEqual(len(run._frames), 4)
        unreachable = [w for w in caught if "unreachable" in str(w.message)]
        self.assertEqual(len(unreachable), 1, "one warning, not one per call")

    def test_reattach_with_the_run_id_continues_the_run(self):
        first = engram.Run(URL, name="py-reattach", raise_errors=True)
        first.log(1, loss=1.0)
        first.flush()
        again = engram.Run(URL, run_id=first.id, raise_errors=True)
        again.log(2, loss=0.5)
        again.flush()
        points = api("GET", f"/api/runs/{first.id}/metrics")
        self.assertEqual([p["iteration"] for p in points], [1, 2])
        again.close()

    def test_from_pytorch_dnc_dense(self):
        t, n, w, r = 4, 6, 5, 2
        rng = np.random.default_rng(0)
        debug = {
            "memory": [rng.random((n, w)) for _ in range(t)],
            "link_matrix": [rng.random((n, n)) for _ in range(t)],
            "precedence": [rng.random((n, 1)) for _ in range(t)],
            "read_weights": [rng.random((r, n)) for _ in range(t)],
            "write_weights": [rng.random((1, n)) for _ in range(t)],
            "usage_vector": [rng.random((1, n)) for _ in range(t)],
        }
        out = engram.from_pytorch_dnc(debug)
        shapes = {name: (array.shape, axes) for name, (array, axes) in out.items()}
        self.assertEqual(shapes["memory"], ((t, n, w), ["time", "cell", "word"]))
        self.assertEqual(shapes["linkMatrix"], ((t, n, n), ["time", "cell", "cell"]))
        self.assertEqual(shapes["precedence"], ((t, n), ["time", "cell"]))
        self.assertEqual(shapes["readWeights"], ((t, r, n), ["time", "head", "cell"]))
        self.assertEqual(shapes["writeWeights"], ((t, 1, n), ["time", "head", "cell"]))
        self.assertEqual(shapes["usage"], ((t, n), ["time", "cell"]))
        np.testing.assert_allclose(out["readWeights"][0][2], debug["read_weights"][2].astype(np.float32))

    def test_from_pytorch_dnc_sparse_unflattens_heads(self):
        t, n, k, w, r = 3, 20, 7, 4, 2
        rng = np.random.default_rng(2)
        debug = {
            "memory": [rng.random((n, w)) for _ in range(t)],
            "visible_memory": [rng.random((k, w)) for _ in range(t)],
            "link_matrix": [rng.random((k, k)) for _ in range(t)],
            "read_weights": [rng.random((1, r * k)) for _ in range(t)],
            "read_vectors": [rng.random((1, r * w)) for _ in range(t)],
            "read_positions": [rng.integers(0, n, (1, k)) for _ in range(t)],
            "usage": [rng.random((1, k)) for _ in range(t)],
        }
        out = engram.from_pytorch_dnc(debug)
        self.assertEqual(out["visibleMemory"][0].shape, (t, k, w))
        self.assertEqual(out["readWeights"][0].shape, (t, r, k))
        np.testing.assert_allclose(out["readWeights"][0][1, 1], debug["read_weights"][1].reshape(r, k)[1])
        self.assertEqual(out["readVectors"][0].shape, (t, r, w))
        self.assertEqual(out["readPositions"], (out["readPositions"][0], ["time", "slot"]))
        self.assertEqual(out["readPositions"][0].shape, (t, k))
        self.assertEqual(out["linkMatrix"][0].shape, (t, k, k))


if __name__ == "__main__":
    unittest.main()
