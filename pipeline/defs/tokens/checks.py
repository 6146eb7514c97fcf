import dagster as dg
import pyarrow as pa

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
    return sentence_check_results({"sent_ids_unique": invariants.unique(sentences, "sent_id", within="doc_id"),
                                   "sentence_offsets": invariants.offsets_hold(sentences, texts)})


def sentence_check_results(outcomes: dict[str, tuple[bool, dict]]) -> list[dg.AssetCheckResult]:
    """The check results from outcomes already computed (by the workers, per document)."""
    return [dg.AssetCheckResult(check_name=n, asset_key="sentences", passed=p, metadata=d)
            for n, (p, d) in outcomes.items()]


def token_results(tokens: pa.Table, texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    return token_check_results(invariants.offsets_hold(tokens, texts))


def token_check_results(offsets: tuple[bool, dict]) -> list[dg.AssetCheckResult]:
    """The check results from an outcome already computed (by the workers, per document)."""
    passed, details = offsets
    return [dg.AssetCheckResult(check_name="token_offsets", asset_key="tokens", passed=passed, metadata=details)]
