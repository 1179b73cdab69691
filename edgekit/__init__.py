"""edgekit: train speech and sound models on the phone.

The names below are what a user needs; each loads its heavy dependencies (torch, executorch,
librosa) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgekit._lazy import lazy_attributes

__version__ = "0.1.0"

if TYPE_CHECKING:
    from edgekit.audio.config import FrontendConfig
    from edgekit.audio.frontend import LogMel, Mfcc
    from edgekit.budget.config import PlanConfig
    from edgekit.budget.make import make_plan
    from edgekit.data.generate_kws import KwsCorpusConfig, generate_kws_corpus
    from edgekit.data.generate_urban import UrbanCorpusConfig, generate_urban_corpus
    from edgekit.data.loaders import load_corpus
    from edgekit.data.speech_commands import load_speech_commands
    from edgekit.data.urbansound import load_urbansound
    from edgekit.device import Learner, LearnerConfig
    from edgekit.errors import EdgekitError
    from edgekit.export.bundle import ExportConfig, export_bundle
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus
    from edgekit.plan.spec import TrainingPlan

__all__ = [
    "EdgekitError",
    "ExportConfig",
    "FrontendConfig",
    "KwsCorpusConfig",
    "Learner",
    "LearnerConfig",
    "LogMel",
    "Mfcc",
    "PlanConfig",
    "PretrainConfig",
    "TrainingPlan",
    "UrbanCorpusConfig",
    "export_bundle",
    "generate_kws_corpus",
    "generate_urban_corpus",
    "load_corpus",
    "load_speech_commands",
    "load_urbansound",
    "make_plan",
    "pretrain_corpus",
]

_HOME = {
    "EdgekitError": "edgekit.errors",
    "ExportConfig": "edgekit.export.bundle",
    "Learner": "edgekit.device",
    "LearnerConfig": "edgekit.device",
    "export_bundle": "edgekit.export.bundle",
    "FrontendConfig": "edgekit.audio.config",
    "KwsCorpusConfig": "edgekit.data.generate_kws",
    "LogMel": "edgekit.audio.frontend",
    "Mfcc": "edgekit.audio.frontend",
    "PretrainConfig": "edgekit.models.pretrain",
    "UrbanCorpusConfig": "edgekit.data.generate_urban",
    "generate_kws_corpus": "edgekit.data.generate_kws",
    "generate_urban_corpus": "edgekit.data.generate_urban",
    "load_corpus": "edgekit.data.loaders",
    "load_speech_commands": "edgekit.data.speech_commands",
    "load_urbansound": "edgekit.data.urbansound",
    "pretrain_corpus": "edgekit.models.pretrain",
    "PlanConfig": "edgekit.budget.config",
    "make_plan": "edgekit.budget.make",
    "TrainingPlan": "edgekit.plan.spec",
}

__getattr__ = lazy_attributes(__name__, _HOME)
