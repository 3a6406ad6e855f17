"""Scale-out on dask.distributed: ``cluster()`` gives a client on the running loop, and
``stream.parallel(func, client=...)`` runs a step on it, in order, with bounded in-flight work.

Importing this package registers ``parallel`` as a method of every streamz ``Stream``; it starts
nothing.
"""

from .cluster import Cluster as Cluster
from .cluster import cluster as cluster
from .parallel import Parallel as Parallel
from .parallel import ParallelStats as ParallelStats

__all__ = ["Cluster", "Parallel", "ParallelStats", "cluster"]
