"""The Parquet dataset: layout, shards, manifest, card, compaction, export and browsing."""
