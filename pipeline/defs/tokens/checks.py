import dagster as dg
import pyarrow as pa

from pipeline.defs.metadata import check_results
from pipeline.lib import invariants

SPECS = [
    dg.AssetCheckSpec("sent_ids_unique", asset="sentences", blocking=True, description="Every sent_id is unique within its document."),
    dg.AssetCheckSpec("sentence_offsets", asset="sentences", blocking=True,
                      description="clean_text[char_start:char_end] == text for every sentence."),
]
TOKEN_SPECS = [
    dg.AssetCheckSpec("token_offsets", asset="tokens", blocking=True,
                      description="clean_text[char_start:char_end] == text for every token."),
]


def sentence_results(sentences: pa.Table, texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    return check_results("sentences", {"sent_ids_unique": invariants.unique(sentences, "sent_id", within="doc_id"),
                                   "sentence_offsets": invariants.offsets_hold(sentences, texts)})


def token_results(tokens: pa.Table, texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    return check_results("tokens", {"token_offsets": invariants.offsets_hold(tokens, texts)})
