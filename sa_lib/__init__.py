"""sa_lib: the tested helper library behind the Strategic Assessment Workbook.

The library is layered; data flows one way and nothing imports upwards:

* foundation: :mod:`sa_lib.errors`, :mod:`sa_lib.paths`, :mod:`sa_lib.periods` and
  :mod:`sa_lib.output_gate` (every write under the outputs folder);
* :mod:`sa_lib.data`: loaders that validate input files and return tidy frames;
* :mod:`sa_lib.stats`: pure analysis, DataFrame in and DataFrame out (no file IO);
* :mod:`sa_lib.report`: the chapters, charts and publishing that notebooks call;
* :mod:`sa_lib.run`: the runner and the ``sa`` command line.

Everything a notebook needs is re-exported here, so ``import sa_lib as sa`` is
the only import a notebook makes.  The re-exports are lazy (PEP 562): a name's
module is imported on first use, so ``import sa_lib`` stays quick and a script
that only needs :func:`xmr` never loads the runner, the widgets or the generator.

>>> import sa_lib as sa
>>> sa.rolling_window("2016-10").label
'Nov 2015 – Oct 2016'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module that defines it, grouped by layer.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "sa_lib.errors": (
        "DataValidationError", "MoRiLEError", "OptionError", "ParameterError", "Problem", "SAError",
    ),
    "sa_lib.paths": (
        "DATA_DIR", "OUTPUTS_DIR", "PARAMETERS_DIR", "PROJECT_ROOT",
    ),
    "sa_lib.periods": (
        "Window", "calendar_year", "financial_year", "missing_months", "month_window",
        "previous_window", "rolling_window", "window_totals", "year_to_date",
    ),
    "sa_lib.data.csp_population": (
        "csp_populations", "load_former_districts",
    ),
    "sa_lib.data.extracts": (
        "explore_areas", "explore_records",
    ),
    "sa_lib.data.geography": (
        "Area", "load_csp_lookup", "load_lsoa_lookup", "resolve_area",
    ),
    "sa_lib.data.area_search": (
        "Partnership", "find_partnership",
    ),
    "sa_lib.data.init_parameters": (
        "comparison_months", "init_parameters", "survey_partner", "survey_police_uk",
    ),
    "sa_lib.data.init_text": (
        "THEME_GROUPS", "InitChoices", "PartnerSurvey", "PoliceSurvey", "parameters_text",
    ),
    "sa_lib.data.home_office": (
        "TOTAL_RECORDED_CRIME", "area_population", "csp_rates", "population_year",
        "read_csp_recorded_crime", "read_population",
        "csp_table_files", "csp_table_period", "period_end_month", "nearest_csp_table",
    ),
    "sa_lib.data.inputs": (
        "check_inputs",
        "absent_inputs", "csp_table_choice", "morile_sheet_files", "OPTIONAL_INPUTS",
    ),
    "sa_lib.data.measures": (
        "PARTNER_MEASURES", "MeasureSpec", "find_partner_files", "load_partner_data",
    ),
    "sa_lib.data.morile_scales": (
        "DEFAULT_MORILE_SCALES", "MoRiLEScale", "MoRiLEScales", "load_morile_scales",
    ),
    "sa_lib.data.morile_sheets": (
        "read_morile_sheets", "validate_morile_scores",
    ),
    "sa_lib.data.partner": (
        "pseudonymise", "read_partner", "validate_partner",
    ),
    "sa_lib.data.partner_schema": (
        "PARTNER_KINDS", "PartnerColumn", "PartnerSchema",
    ),
    "sa_lib.data.partner_templates": (
        "write_templates",
    ),
    "sa_lib.data.police_uk": (
        "CRIME_TYPES", "POLICE_UK_COLUMNS", "find_street_files", "load_report", "monthly_counts",
        "read_police_uk",
    ),
    "sa_lib.data.police_uk_fetch": (
        "FetchResult", "archives_needed", "fetch_police_uk", "resolve_force",
    ),
    "sa_lib.data.police_uk_remote": (
        "FetchError",
    ),
    "sa_lib.data.police_uk_force": (
        "ForceFiles", "partnerships_in_files", "read_force",
    ),
    "sa_lib.data.quality": (
        "data_quality", "implausible_months",
    ),
    "sa_lib.data.synthetic": (
        "GENERATOR_VERSION", "MORILE_THEMES", "generate_partner_data",
    ),
    "sa_lib.stats.assurance": (
        "ASSURANCE_RESULTS", "MIN_SPC_POINTS", "target_assurance",
    ),
    "sa_lib.stats.change": (
        "NOT_SIGNIFICANT", "SIGNIFICANT", "Change", "change_sentence", "change_significance",
        "change_table", "compare_windows", "format_count", "format_pct", "pct_change",
    ),
    "sa_lib.stats.significance": (
        "exact_poisson_test", "quasi_poisson_test", "window_change_test",
    ),
    "sa_lib.stats.disclosure": (
        "CHANGE_TABLE_DERIVED_COLUMNS", "change_table_derived", "render_table", "safe_percentage",
    ),
    "sa_lib.stats.disclosure_audit": (
        "check_disclosure",
    ),
    "sa_lib.stats.funnel": (
        "rate_funnel",
    ),
    "sa_lib.stats.funnel_plot": (
        "funnel",
    ),
    "sa_lib.stats.morile": (
        "aggregate_morile", "morile_matrix", "rank_stability", "score_morile",
    ),
    "sa_lib.stats.observations": (
        "measure_window_values", "monthly_measure", "partner_observations",
    ),
    "sa_lib.stats.priorities": (
        "PRIORITY_FACTORS", "RECOMMENDATIONS", "priority_matrix", "recommend_priorities",
        "trend_score", "volume_score",
    ),
    "sa_lib.rounding": (
        "format_number", "round_half_up",
    ),
    "sa_lib.stats.repeat": (
        "flag_repeats", "repeat_definition", "repeat_victim_rate",
    ),
    "sa_lib.stats.review": (
        "review_priorities", "review_sentence", "review_summary",
    ),
    "sa_lib.stats.seasonality": (
        "SEASONAL_MIN_MONTHS", "has_seasonal_history", "mark_seasonal", "seasonal_months",
        "seasonal_phrase", "seasonal_profile", "seasonality_test",
    ),
    "sa_lib.stats.places": (
        "concentration", "lsoa_counts", "lsoa_profile", "significant_lsoa_changes",
    ),
    "sa_lib.stats.suppression": (
        "apply_suppression", "suppress", "suppression_mask",
    ),
    "sa_lib.stats.targets": (
        "PLAN_COLUMNS", "TARGET_STATUSES", "target_status",
    ),
    "sa_lib.stats.spc": (
        "POINT_TYPES", "spc_summary", "xmr",
    ),
    "sa_lib.stats.spc_history": (
        "history_summary", "history_xmr",
    ),
    "sa_lib.report.spc_text": (
        "spc_sentences",
    ),
    "sa_lib.report.assessment": (
        "Assessment", "open_assessment",
    ),
    "sa_lib.report.chapters.common": (
        "SYNTHETIC_LABEL", "TableSpec",
    ),
    "sa_lib.report.charts": (
        "SPC_COLOURS", "Chart", "spc_chart",
        "seasonal_chart",
        "hotspot_chart",
    ),
    "sa_lib.report.context": (
        "AssessmentContext",
    ),
    "sa_lib.report.explore": (
        "Explorer", "explorer",
    ),
    "sa_lib.report.explore_view": (
        "ExploreView", "explore_view",
    ),
}

_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and cache the name here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'sa_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
