"""Settings for the test suite: fixed throwaway keys, tasks run in-process."""

import os

os.environ.setdefault("HAOKA_TESTING", "1")
os.environ.setdefault("HAOKA_SANDBOX", "1")
# Throwaway keys: test data only, never a deployment.
os.environ.setdefault("HAOKA_PII_KEYS", "dGVzdC1vbmx5LXBpaS1rZXktMDAwMDAwMDAwMDAwMDA=")
os.environ.setdefault("HAOKA_PII_HASH_KEY", "test-only-hash-key")
os.environ.setdefault("HAOKA_OTP_SECRET", "test-only-otp-secret")
# Test transactions never commit, so the database never tells the token cache of a change:
# the cache's own tests turn it on where they commit.
os.environ.setdefault("HAOKA_TOKEN_CACHE", "0")
os.environ.setdefault("HAOKA_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
os.environ.setdefault("HAOKA_SUBMIT_INLINE", "1")

from haoka.settings import *  # noqa: F403

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
