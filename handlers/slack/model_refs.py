"""Whether a word someone typed names a model, before anything asks OpenAI.

`ask gpt-4o-mini why?` names a model; `ask why is the sky blue?` does not, and neither does
`@tunebot use cases for embeddings?`. Only spellings that cannot be ordinary words count: a
fine-tuned id, one of our job ids, or a base model the catalog knows.
"""

from __future__ import annotations

import re

from finetuning.datasets.models import ModelCatalog

_JOB_REF = re.compile(r"job-\d+", re.IGNORECASE)


def names_a_model(word: str, catalog: ModelCatalog) -> bool:
    lowered = word.lower()
    return (
        lowered.startswith(("ft:", "ftjob-"))
        or _JOB_REF.fullmatch(word) is not None
        or word in catalog.names()
    )
