import dagster as dg

# One partition per document, keyed by doc_id; added and removed as files come and go.
documents_partitions = dg.DynamicPartitionsDefinition(name="documents")

# Many documents in one run rather than one process per document.
batch_backfill = dg.BackfillPolicy.single_run()
