"""Stream steps over event time: windows, running aggregates, rolling, joins.

Importing this package registers the steps as methods of every streamz ``Stream``.
"""

from .join import AsofJoin as AsofJoin
from .rolling import Rolling as Rolling
from .running import aggregate as aggregate
from .sessions import session_window as session_window
from .windows import window as window

__all__ = ["AsofJoin", "Rolling", "aggregate", "session_window", "window"]
