"""The IO manager of the corpus assets: each output saved under the data folder's
work/corpus/<asset>/ and handed to the assets downstream as their input.

Outputs are Arrow tables (one Parquet file) or objects that save themselves to a folder and
load from one (lib.corpus.Corpus, lib.stats.Statistics).
"""
from __future__ import annotations

import dagster as dg
import pyarrow as pa

from pipeline.defs.resources import UnparlSettings
from pipeline.lib.corpus import Corpus
from pipeline.lib.release.stats import Statistics
from pipeline.lib.storage import read_parquet, write_parquet
from pipeline.lib.workdir import corpus_folder

# What each asset's output is, to load it back.
LOADERS = {"corpus": Corpus.load, "corpus_statistics": Statistics.load}


class CorpusIOManager(dg.IOManager):
    def __init__(self, settings: UnparlSettings) -> None:
        self.settings = settings

    def _folder(self, key: dg.AssetKey):
        return corpus_folder(self.settings.data_path, key.path[-1])

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        folder = self._folder(context.asset_key)
        if isinstance(obj, pa.Table):
            write_parquet(folder / "table.parquet", obj)
        else:
            obj.save(folder)
        context.add_output_metadata({"folder": dg.MetadataValue.path(str(folder))})

    def load_input(self, context: dg.InputContext):
        key = context.asset_key
        folder = self._folder(key)
        if not folder.exists():
            raise FileNotFoundError(f"{folder} is missing: materialise '{key.to_user_string()}' first")
        loader = LOADERS.get(key.path[-1])
        return loader(folder) if loader else read_parquet(folder / "table.parquet")


@dg.io_manager(required_resource_keys={"settings"},
               description="Saves each corpus asset's output under the data folder's work/corpus/<asset>/.")
def corpus_io_manager(init_context: dg.InitResourceContext) -> CorpusIOManager:
    # The run's own settings resource rather than a nested copy of it: Dagster 1.13 resolves a
    # nested resource through a deprecated context property, and two copies could disagree.
    return CorpusIOManager(init_context.resources.settings)


@dg.definitions
def io_manager() -> dg.Definitions:
    return dg.Definitions(resources={"io_manager": corpus_io_manager})
