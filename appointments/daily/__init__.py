"""The daily list (每日预约名单) and the appointment slips a resident brings: who may see which, and the pages."""
