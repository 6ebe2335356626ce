"""One object per chapter of the assessment, each built on the shared context.

==============  =========================  =======================================
module          class                      notebook
==============  =========================  =======================================
``sources``     ``SourcesChapter``         01 data quality and sources
``crime``       ``CrimeChapter``           02 total recorded crime
``seasonal``    ``SeasonalChapter``        02 total recorded crime (seasonal charts)
``themes``      ``ThemeChapter``           03 themes
``review``      ``ReviewChapter``          04 review of last year's priorities
``priorities``  ``PriorityChapter``        05 prioritisation
``summary``     ``SummaryChapter``         06 key findings
``partners``    ``PartnerMeasures``        partner measures shared by 03 and 05
``common``      ``TableSpec`` and helpers  what every chapter shares
==============  =========================  =======================================

A chapter never imports another chapter's module except to be given that
chapter's object (the key findings quote chapters 2 to 5); what two chapters
both need lives in ``common`` or ``partners``.
"""
