"""The process the library runs in: clock, ids and owner name, fork renewal, crash points."""
