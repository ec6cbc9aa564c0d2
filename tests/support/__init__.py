"""What the tests share: fakes, factories, clients, and the end-to-end stack and journey.

Imported as ``from tests.support import ...`` (pytest puts the repository root on the path:
``pythonpath`` in pyproject.toml). Fixtures stay in the conftests; these are plain modules.
"""
