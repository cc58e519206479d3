"""Who comes where and when: booking, moving and cancelling, the weekly plan (`planning/`), the daily
lists and slips (`daily/`), no-shows and follow-up."""
