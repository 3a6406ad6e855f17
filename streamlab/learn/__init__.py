"""Online learning on a stream: scikit-learn estimators, test-then-train, on micro-batches.

Importing this package registers ``stream.learn``, ``stream.learn_many``, ``stream.refit``,
``stream.detect_drift``, ``stream.robust_zscore``, ``stream.ewma_chart`` and
``stream.isolation_forest`` as methods of every streamz ``Stream``.

The algorithms are plain classes that know nothing of streams: :class:`Prequential`
(test-then-train), :class:`WindowRefit`, the drift detectors (:class:`ADWIN`,
:class:`PageHinkley`, :class:`DDM`), the anomaly scorers (:class:`RobustZScore`,
:class:`EwmaChart`, :class:`IsolationForestScorer`) and the metrics; the steps are thin
nodes over them (``steps``, ``refit``, ``drift``, ``anomaly``, ``text``).
"""

from .adwin import ADWIN as ADWIN
from .anomaly import AnomalyStats as AnomalyStats
from .anomaly import ewma_chart as ewma_chart
from .anomaly import isolation_forest as isolation_forest
from .anomaly import robust_zscore as robust_zscore
from .detectors import DDM as DDM
from .detectors import PageHinkley as PageHinkley
from .drift import DriftStats as DriftStats
from .drift import detect_drift as detect_drift
from .metrics import ClassificationMetrics as ClassificationMetrics
from .metrics import ClusteringMetrics as ClusteringMetrics
from .metrics import RegressionMetrics as RegressionMetrics
from .prequential import LearnStats as LearnStats
from .prequential import Prequential as Prequential
from .refit import refit as refit
from .scaler import RunningScaler as RunningScaler
from .scorers import EwmaChart as EwmaChart
from .scorers import IsolationForestScorer as IsolationForestScorer
from .scorers import RobustZScore as RobustZScore
from .scorers import Score as Score
from .scorers import score_against_truth as score_against_truth
from .steps import compare_models as compare_models
from .steps import learn as learn
from .steps import learn_many as learn_many
from .text import LabelledLines as LabelledLines
from .text import LinesStats as LinesStats
from .text import TextClassifier as TextClassifier
from .text import split_labelled as split_labelled
from .text import text_classifier as text_classifier
from .window_refit import RefitStats as RefitStats
from .window_refit import WindowRefit as WindowRefit

__all__ = [
    "ADWIN",
    "DDM",
    "AnomalyStats",
    "ClassificationMetrics",
    "ClusteringMetrics",
    "DriftStats",
    "EwmaChart",
    "IsolationForestScorer",
    "LabelledLines",
    "LearnStats",
    "LinesStats",
    "PageHinkley",
    "Prequential",
    "RefitStats",
    "RegressionMetrics",
    "RobustZScore",
    "RunningScaler",
    "Score",
    "TextClassifier",
    "WindowRefit",
    "compare_models",
    "detect_drift",
    "ewma_chart",
    "isolation_forest",
    "learn",
    "learn_many",
    "refit",
    "robust_zscore",
    "score_against_truth",
    "split_labelled",
    "text_classifier",
]
