"""Simulators of terminals, payment providers and banks (imported as ``paychannels.simulators``).

They speak the real wire formats from the other side, with scriptable outcomes and fault
injection, runnable as ``paychannels-sim ...`` and inside tests.
"""
