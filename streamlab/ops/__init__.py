"""Stream steps over event time: windows, running aggregates, rolling, joins.

Importing this package registers the steps as methods of every streamz ``Stream``. The
algorithms under them are plain classes, usable on their own: window assignment
(:class:`TimeWindows`, :class:`CountWindows`, :func:`merge_sessions`), aggregates
(:class:`AggregateSet`, from :func:`parse_agg`) and the :class:`Watermark`.
"""

from .aggregates import AggregateSet as AggregateSet
from .aggregates import parse_agg as parse_agg
from .assign import CountWindows as CountWindows
from .assign import TimeWindows as TimeWindows
from .assign import merge_sessions as merge_sessions
from .join import AsofJoin as AsofJoin
from .rolling import Rolling as Rolling
from .running import aggregate as aggregate
from .sessions import session_window as session_window
from .watermark import Watermark as Watermark
from .windows import window as window

__all__ = [
    "AggregateSet",
    "AsofJoin",
    "CountWindows",
    "Rolling",
    "TimeWindows",
    "Watermark",
    "aggregate",
    "merge_sessions",
    "parse_agg",
    "session_window",
    "window",
]
