"""Market data for backtests: schema, loading, alignment, quality report, synthetic, fetch."""
