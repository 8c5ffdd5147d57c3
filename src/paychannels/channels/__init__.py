"""Channel adapters: the contract every channel follows, the URL registry, the memory channel."""
