"""Tests of the platform-neutral domain and the task runner, on a real database."""
