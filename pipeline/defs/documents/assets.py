"""The per-document chain as Dagster assets, generated from the registry (lib/chain.py).

One multi-asset, one step: each stage is an asset key of the documents partitions, and a run
computes the selected stages for its partitions on the process's worker pool. Each stage's
materialisation is recorded as soon as every document has finished it, while the workers go on
with the next stage.

Dagster records one set of metadata for all the partitions of a run (it cannot attach metadata
or failure to one partition of a run over many: dagster-io/dagster#18123, #17836). So a run of
one document shows that document's own rows, preview and status; a run over many shows figures
labelled `batch/…`, and each document's own truth is in the document_status asset.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pyarrow as pa

from pipeline import schemas
from pipeline.defs.metadata import LISTED, OWNERS, check_results, column_schema, listed, preview
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, invariants, runner, stamps
from pipeline.lib.runner import Outcome

PREVIEW_ROWS = 5
BATCH_NOTE = ("This run built {n} documents at once. Dagster records one set of metadata for all the "
              "partitions of a run (dagster-io/dagster#18123), so the figures here are the batch's, "
              "labelled batch/…; each document's own are in the document_status asset.")

def _specs() -> list[dg.AssetSpec]:
    return [dg.AssetSpec(stage.name, deps=list(stage.reads), group_name=stage.group, kinds=set(stage.kinds),
                 owners=OWNERS, code_version=chain.code_version(stage.name), description=stage.description,
                 metadata={"dagster/column_schema": column_schema(schemas.TABLES[stage.tables[0]]),
                           "tables": ", ".join(t for t in stage.tables if t in schemas.TABLES)})
            for stage in chain.STAGES]


def _check_specs() -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(check.name, asset=stage.name, description=check.description,
                              blocking=check.blocking and check.severity == "ERROR")
            for stage in chain.STAGES for check in stage.all_checks]


@dg.multi_asset(
    name="document_stages", specs=_specs(), check_specs=_check_specs(), can_subset=True,
    partitions_def=documents_partitions, backfill_policy=batch_backfill,
    description="The per-document chain (pipeline/lib/chain.py): documents → tokens → entities.",
)
def document_stages(context: dg.AssetExecutionContext, settings: UnparlSettings):
    keys = context.partition_keys
    selected = [s.name for s in chain.STAGES if dg.AssetKey(s.name) in context.selected_asset_keys]
    checks = {(k.asset_key.to_user_string(), k.name) for k in context.selected_asset_check_keys}
    failed: set[str] = set()
    outcomes_by_doc: dict[str, list[Outcome]] = {key: [] for key in keys}
    for name, outcomes in runner.run_chain(
            keys, selected, data_dir=settings.data_path, seeds_dir=settings.seeds_path,
            max_bytes=settings.max_bytes, backend=settings.tokenizer_backend, workers=settings.workers):
        stage = chain.stage(name)
        for outcome in outcomes:
            outcomes_by_doc[outcome.doc_id].append(outcome)
            if outcome.status == "quarantined":
                context.log.warning(f"{name}: {outcome.doc_id} set aside ({outcome.reason}): {outcome.detail}")
            elif outcome.status == "failed":
                context.log.error(f"{name}: {outcome.doc_id} failed: {outcome.detail}")
        results = [r for r in check_results(name, _outcomes(stage, outcomes),
                                            {c.name: c.severity for c in stage.all_checks})
                   if (name, r.check_name) in checks]
        failed |= {o.doc_id for o in outcomes if o.reason in chain.UNSTAMPED}
        failed |= {o.doc_id for o in outcomes for c in stage.checks
                   if c.blocking and not o.checks.get(c.name, (True, {}))[0]}
        yield dg.MaterializeResult(asset_key=name, metadata=stage_metadata(stage, outcomes, settings),
                                   check_results=results)
    # Only now are these documents done: a document that failed a stage or a blocking check, or
    # whose file changed while it was read, stays stale, to be redone by the next build.
    done = [key for key in keys if key not in failed]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda key: stamps.write_stamp(settings.data_path, key, selected, settings.stamp_settings),
                      done))


def _outcomes(stage: chain.Stage, outcomes: list[Outcome]) -> dict[str, tuple[bool, dict]]:
    """Each of the stage's checks over the run's documents."""
    merged = invariants.merged_checks([o.checks for o in outcomes])
    result = {c.name: merged.get(c.name, (True, {})) for c in stage.checks if c.name != "documents_readable"}
    if any(c.name == "documents_readable" for c in stage.checks):
        aside = [o for o in outcomes if o.status == "quarantined"]
        result["documents_readable"] = (not aside, {
            "quarantined": len(aside),
            "documents": dg.MetadataValue.md("\n".join(f"- {o.doc_id}: {o.reason}: {o.detail}" for o in aside[:LISTED])
                                             or "none")})
    broken = [o for o in outcomes if o.status == "failed"]
    result["completed"] = (not broken, {
        "failed": len(broken),
        "documents": dg.MetadataValue.md("\n".join(f"- {o.doc_id}: {o.detail}" for o in broken[:LISTED]) or "none")})
    return result


def stage_metadata(stage: chain.Stage, outcomes: list[Outcome], settings: UnparlSettings) -> dict:
    """A document's own figures for a run of one; the batch's, so labelled, for a run of many."""
    main = stage.tables[0]
    schema = schemas.TABLES[main]
    rows = Counter()
    for o in outcomes:
        rows.update(o.rows)
    shown = {t: rows[t] for t in stage.tables if t in schemas.TABLES}
    # A run of many shows the first rows of each of its first documents, so no document's rows
    # stand alone for the batch.
    per_doc = PREVIEW_ROWS if len(outcomes) == 1 else 2
    head = [o.results[main].table.slice(0, per_doc) for o in outcomes if main in o.results][:5]
    head_table = pa.concat_tables([pa.Table.from_batches(t.to_batches(), t.schema).cast(schema)
                                   if t.schema != schema else t for t in head]) if head else schema.empty_table()
    facts = Counter()
    for o in outcomes:
        for r in o.results.values():
            for key, value in r.facts.items():
                if isinstance(value, dict):
                    facts.update({f"{key}/{k}": v for k, v in value.items()})
                else:
                    facts[key] += value
    seconds = round(sum(o.seconds for o in outcomes), 3)
    if len(outcomes) == 1:
        (o,) = outcomes
        meta = {
            "dagster/row_count": rows[main],
            "rows": dg.MetadataValue.json(shown),
            "status": o.status if o.status == "ok" else f"{o.status} ({o.reason}): {o.detail}",
            "preview": dg.MetadataValue.md(preview(head_table, stage.preview)),
            "path": dg.MetadataValue.path(str(o.results[main].path)) if main in o.results else "",
            "seconds": seconds,
        }
        prefix = ""
        if o.warnings:
            meta["warnings"] = listed(o.warnings)
    else:
        statuses = Counter(o.status for o in outcomes)
        meta = {
            "batch/note": BATCH_NOTE.format(n=len(outcomes)),
            "batch/documents": len(outcomes),
            "batch/rows": dg.MetadataValue.json(shown),
            "batch/status": dg.MetadataValue.json(dict(sorted(statuses.items()))),
            "batch/rows_by_document": dg.MetadataValue.json(
                {o.doc_id: o.rows.get(main, 0) for o in outcomes[:LISTED]}
                | ({"…": f"{len(outcomes) - LISTED} more"} if len(outcomes) > LISTED else {})),
            "batch/preview": dg.MetadataValue.md(preview(head_table, dict.fromkeys(("doc_id", *stage.preview)),
                                                         rows=head_table.num_rows)),
            "batch/seconds": seconds,
        }
        prefix = "batch/"
        aside = [f"{o.doc_id}: {o.status} ({o.reason}): {o.detail}" for o in outcomes if o.status != "ok"]
        if aside:
            meta["batch/set_aside"] = listed(aside)
    for key, value in sorted(facts.items()):
        meta[f"{prefix}{key}"] = value
    if stage.name == "tokens":
        meta["backend"] = settings.tokenizer_backend
    return meta
