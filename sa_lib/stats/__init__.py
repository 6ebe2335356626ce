"""The statistics layer: pure analysis, tidy DataFrame in and DataFrame out.

Nothing here reads or writes a file (``tests/test_layering.py`` checks it);
modules import the foundation, :mod:`sa_lib.data` (for constants and
schemas) and each other, never :mod:`sa_lib.report` or :mod:`sa_lib.run`.

=================  ==================================================================
``change``         change between two windows, significance, and its sentence
``significance``   quasi-Poisson test of a change from monthly counts; exact fallback
``spc``            XmR and c charts with the NHS "Making Data Count" rules
``funnel``         rates, ranks and funnel-plot limits against every partnership
``funnel_plot``    over-dispersed funnel plots as FunnelPlotR 0.6.0 computes them
``repeat``         repeat victimisation, repeat visits and repeat locations
``observations``   partner returns as tidy observations; window values
``morile``         MoRiLE scoring, aggregation, ranking and rank stability
``priorities``     the priority matrix and the recommended priorities
``targets``        action-plan indicators against their targets
``assurance``      SPC assurance of a monthly series against a target
``review``         the review of last year's priorities: status and assurance
``disclosure``     statistical disclosure control for public tables
=================  ==================================================================
"""
