"""Importing residents from the sheets cadres keep (摸排登记表), in four modules a newcomer can read alone:

- reading: the file (formats, the header row, the data rows under it);
- rows: cleaning and judging each row (new, update, unchanged or error, and why);
- services: the batch (preview, confirm, error report);
- template: the import template cadres fill in.

limits holds what an upload may be (size, cells, rows), checked before and while reading.
"""
