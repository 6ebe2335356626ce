"""The report layer: what the notebooks call to show and publish an assessment.

:func:`~sa_lib.report.assessment.open_assessment` gives a notebook an
:class:`~sa_lib.report.assessment.Assessment`: one shared
:class:`~sa_lib.report.context.AssessmentContext` (parameters, publisher,
inputs loaded once) and a chapter object per notebook (:mod:`sa_lib.report.chapters`).
Charts are in :mod:`sa_lib.report.charts`, one kind per module; the publisher
writes tables and charts into the build (:mod:`sa_lib.report.publish`) and
:mod:`sa_lib.report.html` turns executed notebooks into the reader's HTML.
The interactive explorer for JupyterLab is :mod:`sa_lib.report.explore`.
Modules here never import :mod:`sa_lib.run`.
"""
