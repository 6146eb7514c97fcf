import dagster as dg

SPECS = [
    dg.AssetCheckSpec("sent_ids_unique", asset="sentences", blocking=True, description="Every sent_id is unique within its document."),
    dg.AssetCheckSpec("sentence_offsets", asset="sentences", blocking=True,
                      description="clean_text[char_start:char_end] == text for every sentence."),
]
TOKEN_SPECS = [
    dg.AssetCheckSpec("token_offsets", asset="tokens", blocking=True,
                      description="clean_text[char_start:char_end] == text for every token."),
]
