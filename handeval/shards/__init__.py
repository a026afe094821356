"""Canonical sequence shards: schema, records, writer, manifest, reader."""

from handeval.shards.manifest import Manifest, read_manifest, write_manifest
from handeval.shards.reader import SequenceData, ShardDataset, to_numpy
from handeval.shards.records import SequenceRecords
from handeval.shards.schema import FRAME_FEATURES, SHARD_FORMAT_VERSION, VIEW_FEATURES
from handeval.shards.writer import PlannedShard, plan_shards, write_shard

__all__ = ["FRAME_FEATURES", "SHARD_FORMAT_VERSION", "VIEW_FEATURES", "Manifest", "PlannedShard", "SequenceData",
           "SequenceRecords", "ShardDataset", "plan_shards", "read_manifest", "to_numpy", "write_manifest",
           "write_shard"]
