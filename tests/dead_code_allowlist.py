"""What vulture cannot see used in the tests (make lint): pytest's hooks and autouse fixtures, and what entry points
name in strings."""

from tests.conftest import pytest_sessionfinish, pytest_unconfigure
from tests.example_plugin.fanout_example import WRITE_FILE
from tests.test_connect import clean_env
from tests.test_logs import restore_root_logger
from tests.test_plugins import CLASH, PLAIN

__all__ = ["CLASH", "PLAIN", "WRITE_FILE", "clean_env", "pytest_sessionfinish", "pytest_unconfigure",
           "restore_root_logger"]
