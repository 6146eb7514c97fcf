"""unparl: United Nations documents in Chinese as a versioned, citable dataset."""
import os

# Polars allocates through jemalloc, which by default keeps freed pages for the life of the
# process (muzzy_decay_ms:-1): the corpus step's peak memory would then be the sum of every
# statistic's, not the largest. Return freed pages at once. Set before Polars is first
# imported; a value the user has set is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

# A run over many documents' partitions would record a "planned" event per partition and asset
# before it starts (7 per document, about 5 ms each on SQLite: a fifth of a build's time, and
# about an hour before the first step at archive scale). Dagster's opt-in records one per asset
# instead. The price: the UI's partitions bar shows that run's partitions neither in progress
# nor, if it fails, failed (the run's page shows both); a failed run's documents are not stamped
# as done, so the next build or rebuild redoes them. It is read by whichever process creates
# runs: this one for `unparl build`; `make ui` exports it to the webserver and daemon.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
