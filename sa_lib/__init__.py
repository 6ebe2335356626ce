"""sa_lib: the tested helper library behind the Strategic Assessment Workbook.

One module per concept; everything a notebook needs is re-exported here, so
``import sa_lib as sa`` is the only import a notebook makes.

>>> import sa_lib as sa
>>> sa.rolling_window("2016-10").label
'Nov 15 – Oct 16'
"""

from __future__ import annotations

from sa_lib.data.geography import Area, load_csp_lookup, load_lsoa_lookup, resolve_area
from sa_lib.data.home_office import (
    TOTAL_RECORDED_CRIME,
    area_population,
    csp_rates,
    population_year,
    read_csp_recorded_crime,
    read_population,
)
from sa_lib.data.measures import (
    PARTNER_MEASURES,
    MeasureSpec,
    find_partner_files,
    load_partner_data,
)
from sa_lib.data.partner import (
    PARTNER_KINDS,
    PartnerColumn,
    PartnerSchema,
    pseudonymise,
    read_partner,
    validate_partner,
    write_templates,
)
from sa_lib.data.police_uk import (
    CRIME_TYPES,
    POLICE_UK_COLUMNS,
    find_street_files,
    load_report,
    monthly_counts,
    read_police_uk,
)
from sa_lib.data.quality import data_quality, implausible_months
from sa_lib.data.synthetic import GENERATOR_VERSION, MORILE_THEMES, generate_partner_data
from sa_lib.errors import (
    DataValidationError,
    MoRiLEError,
    OptionError,
    ParameterError,
    Problem,
    SAError,
)
from sa_lib.paths import DATA_DIR, OUTPUTS_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.periods import (
    Window,
    calendar_year,
    financial_year,
    missing_months,
    month_window,
    previous_window,
    rolling_window,
    window_totals,
    year_to_date,
)
from sa_lib.report.assessment import Assessment, check_inputs, open_assessment
from sa_lib.report.chapters.themes import SYNTHETIC_LABEL, TableSpec, variation_phrase
from sa_lib.report.charts import SPC_COLOURS, Chart, spc_chart
from sa_lib.report.explore import (
    Explorer,
    ExploreView,
    explore_areas,
    explore_records,
    explore_view,
    explorer,
)
from sa_lib.stats.change import (
    NOT_SIGNIFICANT,
    SIGNIFICANT,
    Change,
    change_sentence,
    change_significance,
    change_table,
    compare_windows,
    format_count,
    format_pct,
    pct_change,
)
from sa_lib.stats.disclosure import (
    CHANGE_TABLE_DERIVED_COLUMNS,
    apply_suppression,
    change_table_derived,
    check_disclosure,
    render_table,
    safe_percentage,
    suppress,
    suppression_mask,
)
from sa_lib.stats.morile import (
    DEFAULT_MORILE_SCALES,
    MoRiLEScale,
    MoRiLEScales,
    aggregate_morile,
    load_morile_scales,
    morile_matrix,
    rank_stability,
    read_morile_sheets,
    score_morile,
    validate_morile_scores,
)
from sa_lib.stats.observations import (
    measure_window_values,
    monthly_measure,
    partner_observations,
)
from sa_lib.stats.priorities import (
    PRIORITY_FACTORS,
    RECOMMENDATIONS,
    priority_matrix,
    recommend_priorities,
    trend_score,
    volume_score,
)
from sa_lib.stats.repeat import flag_repeats, repeat_definition, repeat_victim_rate
from sa_lib.stats.review import (
    ASSURANCE_RESULTS,
    MIN_SPC_POINTS,
    PLAN_COLUMNS,
    TARGET_STATUSES,
    review_priorities,
    review_sentence,
    review_summary,
    target_assurance,
    target_status,
)
from sa_lib.stats.spc import POINT_TYPES, spc_summary, xmr

__version__ = "0.1.0"

__all__ = [
    # notebooks
    "explorer", "Explorer", "ExploreView", "explore_records", "explore_areas", "explore_view",
    "Assessment", "open_assessment", "check_inputs", "TableSpec", "SYNTHETIC_LABEL", "variation_phrase",
    # errors
    "SAError", "OptionError", "ParameterError", "DataValidationError", "MoRiLEError", "Problem",
    # paths
    "PROJECT_ROOT", "DATA_DIR", "PARAMETERS_DIR", "OUTPUTS_DIR",
    # periods
    "Window", "rolling_window", "previous_window", "financial_year", "calendar_year",
    "year_to_date", "month_window", "missing_months", "window_totals",
    # change
    "Change", "pct_change", "format_count", "format_pct", "change_significance",
    "change_sentence", "change_table", "compare_windows", "SIGNIFICANT", "NOT_SIGNIFICANT",
    # repeat victimisation
    "repeat_victim_rate", "flag_repeats", "repeat_definition",
    # SPC
    "xmr", "spc_summary", "POINT_TYPES", "Chart", "spc_chart", "SPC_COLOURS",
    # MoRiLE
    "MoRiLEScale", "MoRiLEScales", "DEFAULT_MORILE_SCALES", "load_morile_scales",
    "validate_morile_scores", "read_morile_sheets", "score_morile", "aggregate_morile",
    "rank_stability", "morile_matrix",
    # priorities
    "PRIORITY_FACTORS", "RECOMMENDATIONS", "priority_matrix", "volume_score", "trend_score",
    "recommend_priorities",
    # review of last year's priorities
    "target_status", "target_assurance", "review_priorities", "review_summary",
    "review_sentence", "TARGET_STATUSES", "ASSURANCE_RESULTS", "MIN_SPC_POINTS", "PLAN_COLUMNS",
    # disclosure control
    "suppress", "suppression_mask", "apply_suppression", "render_table", "safe_percentage",
    "check_disclosure", "change_table_derived", "CHANGE_TABLE_DERIVED_COLUMNS",
    # data
    "Area", "resolve_area", "load_lsoa_lookup", "load_csp_lookup",
    "POLICE_UK_COLUMNS", "CRIME_TYPES", "find_street_files", "read_police_uk", "load_report",
    "monthly_counts", "data_quality", "implausible_months",
    "TOTAL_RECORDED_CRIME", "read_csp_recorded_crime", "read_population", "population_year",
    "area_population", "csp_rates",
    "PARTNER_KINDS", "PartnerColumn", "PartnerSchema", "read_partner", "validate_partner",
    "pseudonymise", "write_templates",
    "generate_partner_data", "GENERATOR_VERSION", "MORILE_THEMES",
    "PARTNER_MEASURES", "MeasureSpec", "find_partner_files", "load_partner_data",
    "partner_observations", "measure_window_values", "monthly_measure",
]
