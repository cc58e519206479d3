"""The weekly supervision report (周调度通报) with its thresholds and findings, and the upward report
(上报接种进度): their numbers, Excel files and pages."""
