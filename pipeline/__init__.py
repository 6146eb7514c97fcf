"""unparl: United Nations documents in Chinese as a versioned, citable dataset."""
import os

# Polars allocates through jemalloc, which by default keeps freed pages for the life of the
# process (muzzy_decay_ms:-1): the corpus step's peak memory would then be the sum of every
# statistic's, not the largest. Return freed pages at once. Set before Polars is first
# imported; a value the user has set is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

# A run over many documents' partitions would record a "planned" event per partition and asset
# before it starts (7 per document; about 8 ms each on SQLite, half of what Dagster itself adds to
# a build, and past Dagster's 600 s run-start limit at archive scale). Dagster's opt-in records
# one per asset instead; the price is that a run which fails does not mark its partitions failed
# (they stay missing, and the next sensor tick or schedule retries them). Read by whichever process
# creates runs: this one for `unparl build`; `make ui` exports it to the webserver and daemon.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
