"""streamlab: explore live data streams in Jupyter as pandas micro-batches on streamz."""

from . import compress, ops, scale, sinks, store  # noqa: F401  (register stream.window, .to_tcp... on streamz nodes)
from . import datasets as datasets
from .core.clock import wait_until as wait_until
from .core.registry import declare_lazy
from .core.runner import arun as arun
from .core.runner import run as run
from .errors import ConfigError as ConfigError
from .errors import ParseError as ParseError
from .errors import SourceError as SourceError
from .errors import StateError as StateError
from .errors import StreamlabError as StreamlabError
from .scale import cluster as cluster
from .sources.generate import generate as generate
from .sources.replay import replay as replay
from .sources.serve import serve as serve
from .sources.tcp import from_tcp as from_tcp
from .sources.tcp import listen_tcp as listen_tcp
from .sources.udp import from_udp as from_udp
from .store.sqlite import Store as Store

__all__ = [
    "ConfigError",
    "ParseError",
    "SourceError",
    "StateError",
    "Store",
    "StreamlabError",
    "arun",
    "cluster",
    "datasets",
    "from_tcp",
    "from_udp",
    "generate",
    "listen_tcp",
    "replay",
    "run",
    "serve",
    "wait_until",
]

__version__ = "0.1.0"

# The lazy hook (core.registry): these steps' packages are slow to import (scikit-learn; bokeh
# and ipywidgets), so a stand-in sits on Stream until the first call imports the real step.
for _name in ("learn", "learn_many", "refit", "detect_drift", "robust_zscore", "ewma_chart"):
    declare_lazy(_name, "streamlab.learn")
declare_lazy("isolation_forest", "streamlab.learn")
declare_lazy("dashboard", "streamlab.viz", kind="sink")
del _name


def __getattr__(name: str):
    if name == "learn":  # imported on first use: scikit-learn takes half a second to load
        import importlib

        return importlib.import_module(".learn", __name__)
    if name in ("viz", "Dashboard"):  # bokeh and ipywidgets load on first use too
        import importlib

        viz = importlib.import_module(".viz", __name__)
        return viz if name == "viz" else viz.Dashboard
    raise AttributeError(f"module 'streamlab' has no attribute {name!r}")
