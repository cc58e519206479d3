"""The weekly plan (分周接种计划): the arithmetic that proposes first doses, its services, reads and pages."""
