"""The data layer: read input files, validate them and return tidy frames.

Every file the workbook reads is read here (police.uk street files, partner
returns, MoRiLE scales and sheets, Home Office and ONS tables, lookups and the
parameters file), and a bad file raises :class:`~sa_lib.errors.DataValidationError`
naming file, row and column.  Modules here import only the foundation
(:mod:`sa_lib.errors`, :mod:`sa_lib.paths`, :mod:`sa_lib.periods`) and each other,
never :mod:`sa_lib.stats`, :mod:`sa_lib.report` or :mod:`sa_lib.run`.

========================  ==========================================================
``police_uk``             find, read and select street files; monthly counts
``police_uk_file``        one street file: format, parsing with Arrow, validation
``police_uk_cache``       the on-disk cache of parsed files and results
``extracts``              records by partnership for the interactive explorer
``geography``             LSOA -> local authority -> CSP -> force lookups
``home_office``           recorded crime by CSP and mid-year population
``csp_population``        each CSP's population once (former districts split by population)
``partner_schema``        one template (schema) per kind of partner return
``partner_values``        parsing partner cells: dates, months, numbers, flags ...
``partner``               validating and reading a partner return; pseudonyms
``partner_templates``     writing the templates and their README
``measures``              the registry of partner measures (built-in and declared)
``measure_declarations``  the parameters file's ``measures:`` section
``morile_scales``         MoRiLE scales: labels and the points they score
``morile_sheets``         MoRiLE scoring sheets, one per scorer
``quality``               data-quality flags on police.uk records
``parameters``            the yearly parameters file: schema and validation
``new_year``              next year's parameters file (``sa new-year``, ``--check``)
``parameter_checks``      checks of the parameters' text, names and measures
``safe_yaml``             the one YAML reader (duplicate keys, aliases, tags refused)
``slugs``                 file and folder names made from names in the parameters
``inputs``                every input of an assessment, loaded once and checked
``cache``                 inputs kept once per kernel
``csv_text``              reading hand-made CSV text (encoding, records, positions)
``synthetic``             the seeded generator of SYNTHETIC partner data
========================  ==========================================================
"""
