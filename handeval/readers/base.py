"""What every dataset reader shares, and what each one offers the conversion driver."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from handeval.readers.sources import SourceError
from handeval.records.sequence import SequenceRecords
from handeval.util.errors import HandevalError


def variant_tokens(variant: str | None) -> list[str]:
    """``--variant`` split on commas, colons, slashes or spaces."""
    return [t for t in re.split(r"[,:/ ]+", variant or "") if t]


class DatasetReader(ABC):
    """A reader of one dataset's official layout under ``root``, opened by the name ``key``.

    A subclass declares its ``key``, ``name`` and ``default_splits_help``, sets ``version`` (the
    release it reads) and says its :attr:`variant`, parses its
    ``--variant`` tokens in :meth:`variant_options` (none by default) and reads splits and
    sequences; what it has nothing to report (missing annotations, left-out items,
    missing split-level files) defaults to nothing.
    """

    key: ClassVar[str]                  # the CLI's name, e.g. interhand26m
    name: ClassVar[str]                 # the dataset's own name, e.g. InterHand2.6M
    default_splits_help: ClassVar[str]  # what default_splits converts, for `convert --help`
    version: str                        # the release read (HO3D's is found in the tree), set per reader
    variant_option: str | None = None   # the --variant value that reproduces this reader

    def __init__(self, root: str | Path, progress: bool = False):
        self.root = Path(root)
        self.progress = progress  # bars while parsing large indexes

    @classmethod
    def open(cls, root: str | Path, variant: str | None = None, progress: bool = False) -> DatasetReader:
        """The reader of the ``--root`` folder with the ``--variant`` value given on the command line."""
        root = Path(root).expanduser()
        if not root.is_dir():
            raise HandevalError(f"--root {root} does not exist or is not a folder")
        return cls(root, progress=progress, **cls.variant_options(variant))

    @classmethod
    def variant_options(cls, variant: str | None) -> dict:
        """The constructor's keywords for ``--variant`` (see :func:`variant_tokens`)."""
        if variant_tokens(variant):
            raise HandevalError(f"{cls.name} has no variants (got {variant!r})")
        return {}

    @property
    @abstractmethod
    def variant(self) -> str:
        """The variant read, in words (the manifest's ``dataset.variant``)."""

    @property
    @abstractmethod
    def conventions(self) -> dict:
        """The MANO convention and frames of the source, recorded in the manifest."""

    @abstractmethod
    def splits(self) -> list[str]:
        """The splits present under ``root``."""

    def default_splits(self) -> list[str]:
        return self.splits()

    @abstractmethod
    def source_files(self, split: str) -> list[Path]:
        """The split-level annotation files the manifest records."""

    @abstractmethod
    def sequence_lengths(self, split: str) -> list[tuple[str, int | SourceError]]:
        """Each sequence's frame count. A sequence whose plan-time file is unreadable comes with
        its SourceError instead, so that --skip-bad can skip it like any other bad sequence."""

    @abstractmethod
    def read_sequence(self, split: str, name: str) -> SequenceRecords: ...

    def write_index(self, split: str, folder: Path) -> bool:
        """Save what :meth:`read_sequence` needs of the split's annotation files in ``folder``, so that
        the conversion's workers read their sequences from it instead of each parsing those files
        again. False (the default) where each sequence has files of its own: nothing to save."""
        return False

    def use_index(self, split: str, folder: Path) -> None:
        """Read the split's sequences from :meth:`write_index`'s ``folder`` from now on."""
        raise NotImplementedError(f"{self.name} writes no annotation index")

    def missing(self, split: str) -> dict[str, str]:
        """Annotations the source lacks: {column or topic: why}."""
        return {}

    def left_out(self, split: str) -> list[str]:
        """Source items not converted, and why."""
        return []

    def missing_sources(self, split: str) -> list[str]:
        """Split-level source files found missing."""
        return []
