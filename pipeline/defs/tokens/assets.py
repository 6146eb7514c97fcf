import dagster as dg

from pipeline import schemas
from pipeline.defs.metadata import KINDS, OWNERS, check_results, code_version, results_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.defs.tokens import checks
from pipeline.lib import invariants, parallel
from pipeline.lib.tokens import backend_name


@dg.asset(
    deps=["paragraphs", "document_metadata"], partitions_def=documents_partitions,
    backfill_policy=batch_backfill, group_name="tokens", kinds=KINDS, owners=OWNERS,
    code_version=code_version("lib/sentences.py", "lib/stages.py", "lib/storage.py", "lib/invariants.py", "lib/parallel.py", "schemas.py"), check_specs=checks.SPECS,
    description="Sentences split at 。！？ inside each paragraph, never across paragraphs.",
)
def sentences(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    # Each worker checks its own documents' sentences and sends back only their first rows.
    results = parallel.map_stage("sentences", settings.data_path, context.partition_keys, workers=settings.workers)
    meta = results_metadata(results, schemas.SENTENCES, ["sent_id", "text"])
    return dg.MaterializeResult(metadata=meta, check_results=check_results(
        "sentences", invariants.merged_checks([r.checks for r in results])))


@dg.asset(
    deps=["sentences"], partitions_def=documents_partitions, backfill_policy=batch_backfill,
    group_name="tokens", kinds=KINDS | {"jieba"}, owners=OWNERS,
    code_version=code_version("lib/tokens.py", "gazetteers/userdict.txt", "lib/stages.py", "lib/storage.py", "lib/invariants.py", "lib/parallel.py", "schemas.py"), check_specs=checks.TOKEN_SPECS,
    description="Tokens with part-of-speech tags from jieba (posseg; jieba-rs when the tokenizer setting "
                "or UNPARL_TOKENIZER says rjieba), using a user dictionary of the "
                "corpus's proper names so they are not cut apart.",
)
def tokens(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    # Each worker checks its own documents' tokens and sends back only their first rows: the
    # batch's tokens (thousands a document) are never gathered in this process.
    results = parallel.map_stage("tokens", settings.data_path, context.partition_keys, workers=settings.workers,
                                 backend=settings.tokenizer_backend)
    meta = results_metadata(results, schemas.TOKENS, ["sent_id", "seq", "text", "pos"])
    meta["backend"] = backend_name(settings.tokenizer_backend)
    return dg.MaterializeResult(metadata=meta, check_results=check_results(
        "tokens", invariants.merged_checks([r.checks for r in results])))
