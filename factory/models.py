"""The base of every frozen pydantic model in the project.

Models are values: frozen (hashable, never changed in place) and strict about their fields
(``extra="forbid"``: a misspelt field is an error, not ignored). Configuration models add
``allow_inf_nan=False`` (`FiniteFrozenModel`): NaN or infinity is never a valid setting.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["FiniteFrozenModel", "FrozenModel"]


class FrozenModel(BaseModel):
    """A frozen model that refuses unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FiniteFrozenModel(FrozenModel):
    """A `FrozenModel` whose float fields refuse NaN and infinity."""

    # merged with FrozenModel's config: frozen, extra="forbid", and no NaN or infinity
    model_config = ConfigDict(allow_inf_nan=False)
