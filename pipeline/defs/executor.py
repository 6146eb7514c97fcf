import dagster as dg


@dg.definitions
def executor() -> dg.Definitions:
    # Steps of a run go to separate processes, so independent work uses both cores.
    return dg.Definitions(executor=dg.multiprocess_executor.configured({"max_concurrent": 2}))
