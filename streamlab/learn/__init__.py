"""Online learning on a stream: scikit-learn estimators, test-then-train, on micro-batches.

Importing this package registers ``stream.learn``, ``stream.learn_many``, ``stream.refit``,
``stream.detect_drift``, ``stream.robust_zscore``, ``stream.ewma_chart`` and
``stream.isolation_forest`` as methods of every streamz ``Stream``.
"""

from .anomaly import AnomalyStats as AnomalyStats
from .anomaly import Score as Score
from .anomaly import ewma_chart as ewma_chart
from .anomaly import isolation_forest as isolation_forest
from .anomaly import robust_zscore as robust_zscore
from .anomaly import score_against_truth as score_against_truth
from .detectors import ADWIN as ADWIN
from .detectors import DDM as DDM
from .detectors import PageHinkley as PageHinkley
from .drift import DriftStats as DriftStats
from .drift import detect_drift as detect_drift
from .metrics import ClassificationMetrics as ClassificationMetrics
from .metrics import ClusteringMetrics as ClusteringMetrics
from .metrics import RegressionMetrics as RegressionMetrics
from .prequential import LearnStats as LearnStats
from .prequential import Prequential as Prequential
from .refit import RefitStats as RefitStats
from .refit import WindowRefit as WindowRefit
from .refit import refit as refit
from .scaler import RunningScaler as RunningScaler
from .steps import compare_models as compare_models
from .steps import learn as learn
from .steps import learn_many as learn_many
from .text import LabelledLines as LabelledLines
from .text import TextClassifier as TextClassifier
from .text import split_labelled as split_labelled
from .text import text_classifier as text_classifier

__all__ = [
    "ADWIN",
    "DDM",
    "AnomalyStats",
    "ClassificationMetrics",
    "ClusteringMetrics",
    "DriftStats",
    "LabelledLines",
    "LearnStats",
    "PageHinkley",
    "Prequential",
    "RefitStats",
    "RegressionMetrics",
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
