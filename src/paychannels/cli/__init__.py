"""The ``paychannels`` command line: one module per command group."""
