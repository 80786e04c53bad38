"""Compiled programs, kept per worker process: the next job of the same architecture,
compile settings, shapes, batch size and layout reuses the program the last one compiled
(a study's repeats, a rerun); JAX's persistent cache (FITQ_COMPILATION_CACHE_DIR) keeps
them across restarts."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jax
import keras
from cachetools import LRUCache

from worker import metrics
from worker.training.compiled import program

# Programs a worker keeps (a few MB of executable each).
KEPT_PROGRAMS = 16
_programs: LRUCache[Any, Any] = LRUCache(maxsize=KEPT_PROGRAMS)


Source = Literal["compiled", "reused", "disk cache"]
Builder = Callable[[keras.Model, program.Layout], Any]


@dataclass(frozen=True)
class Ready:
    run: Any  # the compiled chunk function
    compile_seconds: float
    # compiled: by XLA now; reused: this worker's own, from an earlier job; disk cache: JAX's
    # persistent cache had it (a restarted worker, another worker on this folder)
    source: Source


def ready(
    model: keras.Model,
    architecture: dict[str, Any],
    layout: program.Layout,
    args: tuple,
    build: Builder = program.build,
) -> Ready:
    """The program for `model` (whose spec is `architecture`) called with `args`; `build`
    makes its function (pack.build: repeats packed as one program)."""
    kind = f"{build.__module__}.{build.__qualname__}"
    key = (json.dumps(architecture, sort_keys=True), layout, _signature(args), kind)
    found = _programs.get(key)
    if found is not None:
        metrics.compiled("reused", 0.0)
        return Ready(found, 0.0, "reused")
    started, hits = time.perf_counter(), _disk_hits[0]
    compiled = jax.jit(build(model, layout)).lower(*args).compile()
    seconds = time.perf_counter() - started
    _programs[key] = compiled
    source: Source = "disk cache" if _disk_hits[0] > hits else "compiled"
    metrics.compiled(source, seconds)
    return Ready(compiled, seconds, source)


_disk_hits = [0]  # JAX's persistent cache hits in this process (its monitoring events)


def _count_hit(event: str, **_: Any) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _disk_hits[0] += 1


jax.monitoring.register_event_listener(_count_hit)


def _signature(args: tuple) -> tuple:
    leaves, structure = jax.tree.flatten(args)
    return str(structure), tuple((tuple(a.shape), str(a.dtype)) for a in leaves)
