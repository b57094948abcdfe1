"""The in-process harness stack (tiny template, fake handlers) as the fixture ``stack``."""

from tests.integration.harness_stack import stack  # noqa: F401 - a fixture
