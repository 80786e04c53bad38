"""A worker process's memory of recently used, preprocessed datasets, bounded in bytes, so five
experiments on the same data load and encode it once."""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from worker.training.splits import LoadedData, buffers

log = logging.getLogger(__name__)


class DatasetCache:
    """Least-recently-used eviction once the arrays held pass `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, LoadedData] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return sum(item.nbytes for item in self._items.values())

    def get_or_load(self, key: str, load: Callable[[], LoadedData]) -> LoadedData:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                log.info("dataset cache hit: %s", key)
                return self._items[key]
        self.misses += 1
        data = _read_only(load())
        with self._lock:
            if data.nbytes <= self.max_bytes:
                self._items[key] = data
                while self.nbytes > self.max_bytes:
                    evicted, _ = self._items.popitem(last=False)
                    log.info("dataset cache evicted: %s", evicted)
        return data


def _read_only(data: LoadedData) -> LoadedData:
    # Cached arrays are shared by later jobs: nothing may change them in place.
    for array in buffers(data):
        array.flags.writeable = False
    return data
