"""Settings for the test suite: fixed throwaway keys, tasks run in-process."""

import os

os.environ.setdefault("HAOKA_TESTING", "1")
os.environ.setdefault("HAOKA_SANDBOX", "1")
# Throwaway keys: test data only, never a deployment.
os.environ.setdefault("HAOKA_PII_KEYS", "dGVzdC1vbmx5LXBpaS1rZXktMDAwMDAwMDAwMDAwMDA=")
os.environ.setdefault("HAOKA_PII_HASH_KEY", "test-only-hash-key")
os.environ.setdefault("HAOKA_OTP_SECRET", "test-only-otp-secret")
os.environ.setdefault("HAOKA_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")

from haoka.settings import *  # noqa: F403

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
