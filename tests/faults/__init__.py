"""The fault-injection suite's helpers (``scripts/faults.py``, ``make faults``): a settings module and
a private storage that fails writes or drops the database connection on demand."""
