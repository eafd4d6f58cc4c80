"""CEX position interfaces over ccxt: client, mapping, errors, hooks, options."""
