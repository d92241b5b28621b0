"""Insights for the owner: segments, statistics, campaigns and their results, weekly digests."""
