"""streamlab: explore live data streams in Jupyter as pandas micro-batches on streamz."""

from .core.runner import arun as arun
from .core.runner import run as run
from .errors import ConfigError as ConfigError
from .errors import ParseError as ParseError
from .errors import SourceError as SourceError
from .errors import StateError as StateError
from .errors import StreamlabError as StreamlabError
from .sources.generate import generate as generate
from .sources.replay import replay as replay

__all__ = [
    "ConfigError",
    "ParseError",
    "SourceError",
    "StateError",
    "StreamlabError",
    "arun",
    "generate",
    "replay",
    "run",
]

__version__ = "0.1.0"
