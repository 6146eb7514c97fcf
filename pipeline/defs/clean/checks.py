import dagster as dg
import pyarrow as pa

SPECS = [
    dg.AssetCheckSpec("pieces_within_text", asset="clean_documents", blocking=True,
                      description="Every paragraph piece's offsets fall inside clean_text and match its text."),
]


def results(table: pa.Table, pieces: dict[str, list[dict]]) -> list[dg.AssetCheckResult]:
    texts = dict(zip(table.column("doc_id").to_pylist(), table.column("clean_text").to_pylist()))
    broken = [(doc_id, p["char_start"]) for doc_id, ps in pieces.items() for p in ps
              if texts[doc_id][p["char_start"]:p["char_end"]] != p["text"]]
    return [dg.AssetCheckResult(check_name="pieces_within_text", asset_key="clean_documents",
                                passed=not broken, metadata={"broken": len(broken)})]
