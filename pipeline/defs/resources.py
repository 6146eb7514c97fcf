import os
from pathlib import Path

import dagster as dg

from pipeline.lib.release.card import DEFAULT_CONTACT, DEFAULT_MAINTAINERS, release_settings
from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES
from pipeline.lib.planning import RUN_SECONDS_MIN, RUN_SECONDS_PER_DOCUMENT, RunSpec, run_time_limit
from pipeline.lib.runner import WORKERS_ENV
from pipeline.lib.stamps import settings_key
from pipeline.lib.text.tokens import ENV_VAR as TOKENIZER_ENV, backend_name, current_backend, set_backend

REPO_ROOT = Path(__file__).resolve().parents[2]


class UnparlSettings(dg.ConfigurableResource):
    """Where the reports are read from and the data written to, and the processing limits."""

    seeds_dir: str
    data_dir: str
    max_bytes: int = DEFAULT_MAX_BYTES
    # "jieba" (the reference) or "rjieba" (jieba-rs, opt-in, ~25x faster); empty: UNPARL_TOKENIZER
    # or jieba. See pipeline/lib/text/tokens.py.
    tokenizer: str = ""
    # Worker processes for a batch of documents; 0: UNPARL_WORKERS or the number of cores.
    workers: int = 0
    # Who maintains the releases and how to reach them, for the data card and the metadata files:
    # UNPARL_MAINTAINERS (names separated by ";"), UNPARL_CONTACT (an address or a URL) and
    # UNPARL_HOMEPAGE (the data set's page; none by default).
    # The time limit of a run the sensor or the schedule requests (lib/planning.py, run_time_limit):
    # UNPARL_RUN_SECONDS_MIN, and UNPARL_RUN_SECONDS_PER_DOCUMENT for each document of its range.
    run_seconds_min: int = RUN_SECONDS_MIN
    run_seconds_per_document: int = RUN_SECONDS_PER_DOCUMENT
    maintainers: str = "; ".join(DEFAULT_MAINTAINERS)
    contact: str = DEFAULT_CONTACT
    homepage: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Every step process (the tokens asset, the release's manifest) then agrees on the backend.
        set_backend(self.tokenizer or None)

    @property
    def tokenizer_backend(self) -> str:
        return current_backend(self.tokenizer or None)

    @property
    def stamp_settings(self) -> str:
        """What of these settings shapes a document's tables (see lib/stamps.py)."""
        return settings_key(self.max_bytes, backend_name(self.tokenizer_backend))

    @property
    def release_settings(self) -> dict:
        """What a release says about its maintainers (the release writer's `settings`)."""
        return release_settings({"maintainers": self.maintainers, "contact": self.contact, "homepage": self.homepage})

    def run_time_limit(self, spec: RunSpec) -> int:
        return run_time_limit(spec, minimum=self.run_seconds_min, per_document=self.run_seconds_per_document)

    @property
    def seeds_path(self) -> Path:
        return Path(self.seeds_dir).resolve()

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()


def _env_or(name: str, default: Path) -> str | dg.EnvVar:
    # EnvVar when the operator set it (shown as such in the UI), the repo's folder otherwise.
    return dg.EnvVar(name) if os.environ.get(name) else str(default)


def settings_from_env() -> UnparlSettings:
    return UnparlSettings(
        seeds_dir=_env_or("UNPARL_SEEDS_DIR", REPO_ROOT / "seeds"),
        data_dir=_env_or("UNPARL_DATA_DIR", REPO_ROOT / "data"),
        max_bytes=dg.EnvVar.int("UNPARL_MAX_BYTES") if os.environ.get("UNPARL_MAX_BYTES") else DEFAULT_MAX_BYTES,
        tokenizer=dg.EnvVar(TOKENIZER_ENV) if os.environ.get(TOKENIZER_ENV) else "",
        workers=dg.EnvVar.int(WORKERS_ENV) if os.environ.get(WORKERS_ENV) else 0,
        **{field: dg.EnvVar.int(name) for field, name in (("run_seconds_min", "UNPARL_RUN_SECONDS_MIN"),
                                                          ("run_seconds_per_document", "UNPARL_RUN_SECONDS_PER_DOCUMENT"))
           if os.environ.get(name)},
        **{field: dg.EnvVar(name) for field, name in (("maintainers", "UNPARL_MAINTAINERS"), ("contact", "UNPARL_CONTACT"),
                                                      ("homepage", "UNPARL_HOMEPAGE")) if os.environ.get(name)},
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"settings": settings_from_env()})
