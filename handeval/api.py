"""The entry points that join two stages: convert a dataset (reader + conversion driver), label it by name.

``import handeval`` exposes these with the other stages' entry points (see ``handeval/__init__.py``);
both import their stages when called, so that importing this module starts neither torch nor Open3D.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handeval.shards.manifest import LabelSetEntry, Manifest


def convert(dataset: str, root: str | Path, out: str | Path, variant: str | None = None, progress: bool = True,
            **options) -> Manifest:
    """Convert ``dataset`` (``interhand26m``, ``hic``, ``dexycb`` or ``ho3d``) from its official layout
    under ``root`` into shards in ``out``, as ``handeval convert`` does; returns the manifest.

    ``variant`` is ``--variant``'s value; ``options`` are those of
    :func:`handeval.shards.convert.convert` (``splits``, ``executor``, ``resume``, ``overwrite``,
    ``skip_bad``, ``target_frames``, ``chunk_frames``, and ``synthetic``, which marks data that handeval
    generated so that no score on it passes for one on the real dataset).
    """
    from handeval.readers import open_reader
    from handeval.shards.convert import convert as run

    return run(open_reader(dataset, root, variant, progress), out, progress=progress, **options)


def label(directory: str | Path, name: str, **options) -> LabelSetEntry:
    """Compute the label set ``name`` (one of :data:`handeval.labels.registry.LABEL_SETS`) beside the
    shards in ``directory``, as ``handeval labels NAME`` does; returns its entry in the manifest.

    ``options`` are :meth:`~handeval.labels.registry.LabelGenerator.run`'s: the inputs ``mano_dir``,
    ``objects``, ``source_root`` (the folder converted from: needed by ``images``), each passed to
    the sets that take it, and ``resume``, ``executor``, ``progress``, ``on_job`` and the set's own parameters.
    """
    from handeval.labels.registry import label_set

    return label_set(name).run(directory, **options)
