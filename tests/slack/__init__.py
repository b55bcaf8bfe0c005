"""Tests of the Slack front end's pure parts: command parsing, downloads, the manifest."""
