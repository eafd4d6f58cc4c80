"""One frozen-model base: every model is frozen and strict; configuration refuses NaN."""

from __future__ import annotations

import math

import pydantic
import pytest

from factory.config import ModeConfig, RetrySettings, Thresholds, VenueConfig
from factory.interfaces.cex.mapping import FundingPayment
from factory.interfaces.cex.options import CexOptions
from factory.models import FiniteFrozenModel, FrozenModel
from factory.positions import Position
from factory.sandbox.exchange.model import VenueAccount

CONFIGS = [ModeConfig, VenueConfig, Thresholds, RetrySettings]
VALUES = [Position, FundingPayment, CexOptions, VenueAccount]


@pytest.mark.parametrize("model", CONFIGS + VALUES)
def test_every_model_is_frozen_and_refuses_unknown_fields(model):
    assert issubclass(model, FrozenModel)
    assert model.model_config["frozen"] is True and model.model_config["extra"] == "forbid"


@pytest.mark.parametrize("model", CONFIGS)
def test_configuration_models_refuse_nan_and_infinity(model):
    assert issubclass(model, FiniteFrozenModel)
    assert model.model_config["allow_inf_nan"] is False


def test_a_config_value_of_nan_is_an_error_and_a_config_cannot_change():
    with pytest.raises(pydantic.ValidationError, match="finite number"):
        RetrySettings(base_delay_s=math.nan)
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        RetrySettings(base_delay=0.1)
    settings = RetrySettings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.max_attempts = 9


@pytest.mark.parametrize("model", VALUES)
def test_value_models_keep_their_nan_handling_to_their_own_validators(model):
    assert "allow_inf_nan" not in model.model_config
