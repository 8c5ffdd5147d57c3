"""Running a deployment unattended: the janitor's rounds (recovery, leases, scheduled downloads)."""
