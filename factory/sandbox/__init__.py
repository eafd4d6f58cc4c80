"""Local venues for tests and the demo: the anvil chain (``factory.sandbox.chain``) and the
exchange emulator."""
