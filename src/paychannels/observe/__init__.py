"""What an operator watches: log lines (``logs``), metrics and traces (``otel``, the
``paychannels[otel]`` extra) and their Prometheus text (``prometheus``).

Nothing here is imported by the library itself; without the extra, ``logs`` still works and
``otel`` fails with one line naming the extra.
"""
