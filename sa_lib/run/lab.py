"""JupyterLab without dirtying git: the notebook series is saved without outputs.

JupyterLab's autosave writes outputs, execution counts and the kernel's
``language_info`` into ``notebooks/*.ipynb``.  The git filter (``.gitattributes``,
installed by ``make venv``) strips them when a notebook is added, but ``git
status`` still lists a notebook whose file changed size.  So ``make venv`` also
registers :func:`strip_outputs_on_save` as the Jupyter server's pre-save hook
(``.venv/etc/jupyter/jupyter_server_config.json``): a notebook of
the series is written exactly as committed, outputs gone, while the open tab
keeps showing them.  Any other notebook is saved untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from sa_lib.paths import NOTEBOOKS_DIR

__all__ = ["STRIP_KEYS", "strip_notebook", "strip_outputs_on_save"]

#: Metadata stripped besides outputs and counts: nbstripout's defaults plus the kernel's
#: ``language_info`` (written on every save); the same as ``NBSTRIPOUT_ARGS`` in the Makefile.
STRIP_KEYS = ["metadata.signature", "metadata.widgets", "cell.metadata.collapsed",
              "cell.metadata.ExecuteTime", "cell.metadata.execution",
              "cell.metadata.heading_collapsed", "cell.metadata.hidden",
              "cell.metadata.scrolled", "metadata.language_info"]


def strip_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook as committed: no outputs, counts or run-time metadata; cell ids kept.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    >>> nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    >>> strip_notebook(nb).cells[0].outputs
    []
    """
    from nbstripout import strip_output

    return strip_output(nb, keep_output=False, keep_count=False, keep_id=True,
                        extra_keys=STRIP_KEYS)


def strip_outputs_on_save(model: dict[str, Any], path: str, contents_manager: Any,
                          **kwargs: Any) -> None:
    """Jupyter pre-save hook: strip a notebook of ``notebooks/`` before it is written.

    Parameters
    ----------
    model : dict
        The Jupyter contents model being saved (changed in place).
    path : str
        Its API path, relative to the server's root folder.
    contents_manager : ContentsManager
        The server's contents manager (gives the file's path on disk).
    """
    if model.get("type") != "notebook" or not model.get("content"):
        return
    try:
        on_disk = Path(contents_manager._get_os_path(path)).resolve()
    except Exception:  # another contents manager: leave the notebook alone
        return
    if on_disk.parent != NOTEBOOKS_DIR.resolve() or on_disk.suffix != ".ipynb":
        return
    model["content"] = strip_notebook(nbformat.from_dict(model["content"]))
