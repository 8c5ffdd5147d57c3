"""The values every layer uses: money, statuses, reasons, public models, errors."""
