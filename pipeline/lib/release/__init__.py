"""The corpus-wide outputs: statistics, the release folder, its card, charts, checks and provenance."""
