"""Backtest strategies, one module per strategy family."""
