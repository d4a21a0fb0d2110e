"""``simulate`` on several cores: a surface's K runs split between worker processes.

The vector engine runs on one core: its NumPy calls hold Python's lock between them, and a
second thread made every map slower (measured: a 256 x 256 Adam sweep 0.64 s on one thread,
0.81 s on two), while two processes each doing half of it finish in half the time. A
:class:`SimulatePool` keeps that many worker processes ready and gives each a contiguous share
of the runs:

    pool = SimulatePool(processes=2, nice=10)
    traj = pool.simulate(surfaces.get("himmelblau"), "adam", starts, 500, record="final", lr=lr)

The runs of a surface are independent, so the result is the one ``optimizers.simulate`` gives
for all K runs at once, to the bit (a test holds the two equal). Where the runs share a random
stream (mini-batches, random search's proposals) the stream depends on K, so such calls, and
small ones, run in the calling process instead. A worker that dies (out of memory) is
replaced, and that call runs in the caller.

The workers are plain ``python -m optimizers.pool`` processes that read pickled calls on their
standard input and write pickled results on their standard output, started once. Not
:mod:`multiprocessing`: its workers re-run the parent's ``__main__``, which under Streamlit is
the app's whole script (measured inside the server: a 256 x 256 momentum map 1.6-1.9 s with
them, 0.7-1.0 s with these workers, beside a browser on the same two cores). The surface
travels by name and parameters (``surfaces.get(name, **params)`` in the worker), typed formulas
included: their text is parsed there again, never evaluated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from optimizers.minimize import Trajectory, simulate
from optimizers.validate import resolve

log = logging.getLogger(__name__)

MIN_RUNS = 8192  # fewer runs than this per process: not worth the transfer (run in the caller)
ROOT = Path(__file__).resolve().parent.parent  # where the workers find optimizers/, surfaces/


class WorkerDied(RuntimeError):
    """A worker process ended (killed, out of memory) before it answered."""


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise WorkerDied("the worker process ended")
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise WorkerDied("the worker process ended mid-answer")
    return pickle.loads(data)


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, nice: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "optimizers.pool", str(int(nice))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )

    def send(self, call: tuple[Any, ...]) -> None:
        assert self.proc.stdin is not None
        try:
            _send(self.proc.stdin, call)  # type: ignore[arg-type]
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied(str(e)) from e

    def receive(self) -> tuple[bool, Any]:
        """(True, the result) or (False, the exception the call raised)."""
        assert self.proc.stdout is not None
        return _receive(self.proc.stdout)  # type: ignore[arg-type, no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def serve(nice: int) -> None:
    """A worker's loop: a pickled (function, args) in, (True, result) or (False, error) out."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    inp = sys.stdin.buffer
    while True:
        try:
            fn, args = _receive(inp)
        except WorkerDied:
            return  # the parent closed the pipe
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as e:  # the caller raises it
            answer = (False, e)
        try:
            _send(out, answer)
        except (pickle.PicklingError, TypeError, AttributeError):
            _send(out, (False, RuntimeError(repr(answer[1])[:2000])))


Reader = Callable[[Trajectory], dict[str, np.ndarray]]


def _part(
    surface: tuple[str, dict[str, Any]],
    optimizer: str,
    starts: np.ndarray,
    steps: int,
    kwargs: dict[str, Any],
    read: Reader | None = None,
) -> Any:
    """One share of the runs, in a worker: what ``read`` makes of its Trajectory, or the
    Trajectory, whose learning rates go back in their compact form: a (T, K) table that repeats
    one row (a constant schedule) or one column (a schedule shared by every run) travels as
    that row or column, not as T x K numbers."""
    import surfaces

    traj = simulate(surfaces.get(surface[0], **surface[1]), optimizer, starts, steps, **kwargs)
    if read is not None:
        return read(traj)
    lr = traj.lr
    if lr.ndim == 2 and lr.strides[0] == 0:
        packed = ("row", np.array(lr[:1]))
    elif lr.ndim == 2 and lr.strides[1] == 0:
        packed = ("column", np.array(lr[:, :1]))
    else:
        packed = ("table", lr)
    return dataclasses.replace(traj, lr=np.empty((0, 0))), packed


def _unpack(packed: list[tuple[str, np.ndarray]], t: int, k: int) -> np.ndarray:
    kinds = {kind for kind, _ in packed}
    if kinds == {"row"}:
        return np.broadcast_to(np.concatenate([a for _, a in packed], axis=1), (t, k))
    if kinds == {"column"} and all(np.array_equal(a, packed[0][1]) for _, a in packed):
        return np.broadcast_to(packed[0][1], (t, k))
    out = np.concatenate([np.broadcast_to(a, (t, a.shape[1])) for _, a in packed], axis=1)
    out.flags.writeable = False
    return out


class SimulatePool:
    """``processes`` worker processes for :meth:`simulate`, started on first use (or by
    :meth:`warm`), running at scheduling priority ``nice`` (Linux: +10 lets the machine's other
    work go first). One call at a time uses them; a second caller waits its turn."""

    def __init__(self, processes: int = 2, *, nice: int = 0) -> None:
        self.processes = max(1, int(processes))
        self.nice = int(nice)
        self._lock = threading.Lock()  # one call at a time on the workers
        self._workers: list[_Worker] = []

    def _started(self) -> list[_Worker]:
        while len(self._workers) < self.processes:
            self._workers.append(_Worker(self.nice))
        return self._workers

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            w.stop()

    def warm(self) -> None:
        """Start the processes now, in the background (a page that will need them calls
        this as it opens, so that its first map does not wait for them)."""

        def start() -> None:
            with self._lock:
                try:
                    workers = self._started()
                    for w in workers:
                        w.send((os.getpid, ()))
                    for w in workers:
                        w.receive()
                except Exception:  # an unanswered ping must not be read as a share's answer
                    self._stop()

        threading.Thread(target=start, name="simulate-pool-warm", daemon=True).start()

    def splits(self, surface: Any, optimizer: str, k: int, kwargs: dict[str, Any]) -> int:
        """How many processes a call gets: 1 where the runs share a random stream, where the
        surface cannot be rebuilt by name or where each share would be small."""
        opt = resolve(optimizer)
        batch = kwargs.get("batch_size")
        draws = opt.rule.draws_normal or (batch is not None and batch < surface.n_samples)
        if draws or kwargs.get("trace") or kwargs.get("engine") == "compiled":
            return 1
        if not isinstance(getattr(surface, "name", None), str):
            return 1
        return max(1, min(self.processes, k // MIN_RUNS))

    def simulate(
        self, surface: Any, optimizer: str, starts: Any, steps: int, **kwargs: Any
    ) -> Trajectory:
        """``optimizers.simulate(surface, optimizer, starts, steps, **kwargs)``, its runs
        shared between the processes (the same Trajectory, its ``hyperparams`` included)."""
        done = self._shares(None, surface, optimizer, starts, steps, kwargs)
        if isinstance(done, Trajectory):
            return done
        traj = join([d[0] for d in done])
        k = traj.params.shape[1]
        return dataclasses.replace(traj, lr=_unpack([d[1] for d in done], int(steps), k))

    def read(
        self, read: Reader, surface: Any, optimizer: str, starts: Any, steps: int, **kwargs: Any
    ) -> dict[str, np.ndarray]:
        """``read(optimizers.simulate(surface, optimizer, starts, steps, **kwargs))`` where
        ``read`` (a picklable function: module level, or a functools.partial of one) makes
        arrays whose last axis is the runs: each process reads its own runs, so only what is
        read travels back (a map's labels, not its recorded states)."""
        done = self._shares(read, surface, optimizer, starts, steps, kwargs)
        if isinstance(done, Trajectory):
            return read(done)
        return {name: np.concatenate([d[name] for d in done], axis=-1) for name in done[0]}

    def _shares(
        self,
        read: Reader | None,
        surface: Any,
        optimizer: str,
        starts: Any,
        steps: int,
        kwargs: dict[str, Any],
    ) -> Trajectory | list[Any]:
        """What each process returned for its share, or the whole Trajectory run here."""
        xy = np.asarray(starts, dtype=np.float64)
        k = 1 if xy.ndim == 1 else len(xy)
        parts = self.splits(surface, optimizer, k, kwargs) if xy.ndim == 2 else 1
        if parts == 1:
            return simulate(surface, optimizer, xy, steps, **kwargs)
        bounds = np.linspace(0, k, parts + 1).astype(int)
        recipe = (surface.name, dict(surface.params))
        jobs = []
        for lo, hi in itertools.pairwise(bounds):
            kw = share_of(kwargs, k, lo, hi)
            jobs.append((recipe, optimizer, xy[lo:hi], steps, kw, read))
        with self._lock:
            try:
                workers = self._started()
                for w, job in zip(workers, jobs, strict=False):
                    w.send((_part, job))
                answers = [w.receive() for w in workers[: len(jobs)]]  # every one, in order
            except (WorkerDied, EOFError, pickle.UnpicklingError, OSError):
                log.warning("a simulate worker died or did not start; running here")
                self._stop()
                return simulate(surface, optimizer, xy, steps, **kwargs)
        for ok, value in answers:
            if not ok:
                raise value
        return [value for _, value in answers]


WHOLE = ("settle_points",)  # keywords that are never per run, whatever their length


def share_of(kwargs: dict[str, Any], k: int, lo: int, hi: int) -> dict[str, Any]:
    """simulate's keywords for the runs lo:hi of K."""
    return {n: v if n in WHOLE else _share(v, k, lo, hi) for n, v in kwargs.items()}


def _share(v: Any, k: int, lo: int, hi: int) -> Any:
    """A keyword's share of runs lo:hi: a (K,) array is cut, anything else goes whole
    (``betas=(b1, b2)`` with per-run arrays inside is cut element by element)."""
    if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == k and k > 1:
        return v[lo:hi]
    if isinstance(v, tuple | list) and any(isinstance(x, np.ndarray) for x in v):
        return type(v)(_share(x, k, lo, hi) for x in v)
    return v


def join(parts: list[Trajectory]) -> Trajectory:
    """One Trajectory from the Trajectories of consecutive shares of the runs."""
    first = parts[0]

    def runs(name: str, axis: int) -> np.ndarray:
        out = np.concatenate([getattr(p, name) for p in parts], axis=axis)
        out.flags.writeable = getattr(first, name).flags.writeable
        return out

    hyper: dict[str, Any] = {}
    for name, v in first.hyperparams.items():
        if (
            isinstance(v, np.ndarray)
            and v.ndim >= 1
            and all(isinstance(p.hyperparams[name], np.ndarray) for p in parts)
        ):
            hyper[name] = np.concatenate([p.hyperparams[name] for p in parts])
        else:
            hyper[name] = v
    return dataclasses.replace(
        first,
        params=runs("params", 1),
        loss=runs("loss", 1),
        grad_norm=runs("grad_norm", 1),
        diverged_at=runs("diverged_at", 0),
        reached_at=None if first.reached_at is None else runs("reached_at", 0),
        settled_at=None if first.settled_at is None else runs("settled_at", 0),
        settled_near=None if first.settled_near is None else runs("settled_near", 0),
        hyperparams=hyper,
    )


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
