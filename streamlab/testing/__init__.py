"""Tools to check that a stream step keeps streamlab's promises: ``check_step`` and its cases.

Examples
--------
>>> import pandas as pd
>>> from streamlab.testing import check_step
>>> check_step(lambda s: s.map(lambda b: b), pd.DataFrame({"x": [1, 2]}), rows_kept=True)
['batch_cuts', 'dtypes', 'attrs', 'end_of_input_once', 'restart', 'released']
"""

from .battery import CHECKS as CHECKS
from .battery import Case as Case
from .battery import FrameSource as FrameSource
from .battery import acheck_step as acheck_step
from .battery import check_step as check_step
from .battery import checks_for as checks_for
from .battery import run_check as run_check

__all__ = ["CHECKS", "Case", "FrameSource", "acheck_step", "check_step", "checks_for", "run_check"]
