"""Cached views: (run, dataset, options) -> the figures and arrays a page shows, shared read-only by every session."""
