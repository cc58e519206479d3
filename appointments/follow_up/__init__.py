"""Follow-up (待联系人员): the town's people to call back (no-shows, dose 2 without a place) and the log of calls."""
