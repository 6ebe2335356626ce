"""The shared context every chapter is built on: parameters, publisher and the loaded inputs.

One :class:`AssessmentContext` is made per notebook run.  Inputs load on first
use and once only (:mod:`sa_lib.data.inputs` also shares them across the
notebooks a kernel runs), so every chapter reads the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from sa_lib.data.inputs import absent_inputs, partner_returns, police_uk_records
from sa_lib.data.parameters import Parameters
from sa_lib.data.police_uk import monthly_counts
from sa_lib.data.quality import data_quality
from sa_lib.report.chapters.common import short_comparison_note, with_total
from sa_lib.report.publish import Publisher
from sa_lib.stats.observations import partner_observations

__all__ = ["AssessmentContext"]


@dataclass
class AssessmentContext:
    """Parameters, publisher and inputs of one assessment; inputs are loaded on first use.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> ctx = AssessmentContext(load_parameters("parameters/2025.yaml"), Publisher(None))
    >>> sorted(ctx.counts.columns)
    ['area', 'count', 'crime_type', 'month']
    """

    params: Parameters
    publish: Publisher

    @cached_property
    def records(self) -> pd.DataFrame:
        """police.uk records for the area (all loaded months; loaded once per kernel)."""
        return police_uk_records(self.params)

    @cached_property
    def counts(self) -> pd.DataFrame:
        """Monthly counts by crime type for the area (``month, area, crime_type, count``)."""
        return monthly_counts(self.records)

    @cached_property
    def counts_with_total(self) -> pd.DataFrame:
        """Monthly counts plus the "Total crime (excluding ASB)" series (built once)."""
        return with_total(self.counts)

    @cached_property
    def short_comparison(self) -> str | None:
        """Why the year-on-year comparison is shorter than the review window (None if it is not).

        Said in chapter 2's first paragraph, the key findings and the basis of every
        priority-matrix trend score built from the comparison.
        """
        return short_comparison_note(self.params, self.counts["month"].unique())

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Data-quality flags over the review window."""
        return data_quality(self.records, window=self.params.review_window)

    @cached_property
    def partner_data(self) -> dict[str, pd.DataFrame]:
        """Every partner return in ``data.partner``, validated, by kind (loaded once per kernel)."""
        return partner_returns(self.params)

    @cached_property
    def partner_observations(self) -> pd.DataFrame:
        """The partner measures as tidy observations (:func:`sa_lib.stats.observations.partner_observations`)."""
        return partner_observations(self.partner_data)

    @cached_property
    def absent(self) -> list[str]:
        """The optional inputs this assessment lacks (:func:`sa_lib.data.inputs.absent_inputs`)."""
        return absent_inputs(self.params)

    @property
    def has_partner_data(self) -> bool:
        """True when at least one partner return was loaded."""
        return "partner" not in self.absent
