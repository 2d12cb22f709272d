"""The plain, typed steps of a backfill: the request, the source, PR selection, the cursor."""
