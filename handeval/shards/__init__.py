"""Canonical sequence shards: schema, records, writer, reader."""

from handeval.shards.reader import SequenceData, ShardDataset, to_numpy
from handeval.shards.records import SequenceRecords
from handeval.shards.schema import FORMAT_VERSION, FRAME_FEATURES, VIEW_FEATURES
from handeval.shards.writer import PlannedShard, plan_shards, write_shard

__all__ = ["FORMAT_VERSION", "FRAME_FEATURES", "VIEW_FEATURES", "PlannedShard", "SequenceData", "SequenceRecords",
           "ShardDataset", "plan_shards", "to_numpy", "write_shard"]
