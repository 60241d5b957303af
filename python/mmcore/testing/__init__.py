"""Test doubles shared by tests, benchmarks and demos: local fake venues and data streams."""
