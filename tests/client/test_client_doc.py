"""docs/client.md names the test behind each promise: every name it gives exists."""

from __future__ import annotations

import re

from tests.support.processes import ROOT
from tests.test_guarantees_doc import defined_tests

DOC = ROOT / "docs" / "client.md"


def test_every_test_the_client_doc_names_exists() -> None:
    named = set(re.findall(r"`(test_\w+)`", DOC.read_text()))
    assert len(named) > 15
    assert sorted(named - defined_tests()) == []
