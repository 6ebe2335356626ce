"""The run layer: build the assessment from a parameters file, and the ``sa`` command.

=============  ===================================================================
``runner``     :func:`run_assessment`: check inputs, run every notebook for both
               builds into a staging folder, swap it in only when all succeeded
``execute``    kernels reused per worker; executing and settling one notebook
``journal``    the record of each run, and recovery after a killed run
``batch``      many areas from one parameters file (threads or dask)
``xlsx``       ``tables.xlsx`` from a build's tables
``cli``        the ``sa`` command line: one clear message and exit code 2 on bad input
=============  ===================================================================

The top of the flow: modules here may import every other layer; nothing imports them.
"""
