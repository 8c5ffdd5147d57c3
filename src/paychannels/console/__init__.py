"""What every command-line program of the package shares, below them all: finding a
program's commands (``commands``), running one on a worker thread that SIGINT/SIGTERM end
cleanly (``interrupt``), and a progress bar (``progress``). ``paychannels`` (``cli``),
``paychannels-sim`` (``simulators.cli``) and the demo use it; it imports none of them.
"""
