"""unparl: United Nations documents in Chinese as a versioned, citable dataset."""
import os

# Polars allocates through jemalloc, which by default keeps freed pages for the life of the
# process (muzzy_decay_ms:-1): the corpus step's peak memory would then be the sum of every
# statistic's, not the largest. Return freed pages at once. Set before Polars is first
# imported; a value the user has set is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

