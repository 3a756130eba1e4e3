"""Synthetic customer journeys with ground truth, for tests, benchmarks and first runs.

`generate(GeneratorConfig(people=1000, seed=7))` returns events in the service's inbound format
and, for every identifier they carry, the person it belongs to.
"""

from identity.synthetic.journeys import (
    SOURCE_REGIONS,
    Dataset,
    GeneratorConfig,
    PersonFacts,
    TruthRow,
    generate,
    people_for_events,
    write_dataset,
)
from identity.synthetic.scenarios import Scenario

__all__ = ["SOURCE_REGIONS", "Dataset", "GeneratorConfig", "PersonFacts", "Scenario",
           "TruthRow", "generate", "people_for_events", "write_dataset"]
