"""What every dataset reader offers the conversion driver."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from handeval.readers.sources import SourceError
from handeval.shards.records import SequenceRecords


class DatasetReader(Protocol):
    key: str              # the CLI's name, e.g. interhand26m
    name: str
    version: str
    variant: str
    variant_option: str | None  # the --variant value that reproduces this reader
    conventions: dict
    root: Path

    def splits(self) -> list[str]: ...
    def default_splits(self) -> list[str]: ...
    def source_files(self, split: str) -> list[Path]: ...
    # A sequence whose plan-time file is unreadable comes with its SourceError instead of a
    # length, so that --skip-bad can skip it like any other bad sequence.
    def sequence_lengths(self, split: str) -> list[tuple[str, int | SourceError]]: ...
    def read_sequence(self, split: str, name: str) -> SequenceRecords: ...
    def missing(self, split: str) -> dict[str, str]: ...
    def left_out(self, split: str) -> list[str]: ...  # source items not converted, and why
    def missing_sources(self, split: str) -> list[str]: ...  # split-level source files found missing
