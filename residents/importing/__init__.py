"""Importing residents from the Excel sheets cadres keep (摸排登记表): reading and judging a sheet,
its preview and confirm, the template and the error report."""
