"""A second scenario generator, designed apart from `ingest/simulate`, to test detection on unseen data.

`world.py` builds a cast of operators from the problem description (not from
simulate's code) and writes a batch in the ingest format plus a ground-truth
file that `manage.py evaluate --truth` reads; `generate.py` is its command line.
"""
