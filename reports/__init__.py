"""Turns records into progress, dashboards and files (exports, the daily list in Excel, the weekly
supervision report)."""
