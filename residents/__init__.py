"""Who should be vaccinated: the register of residents, how they get on it, and whether they are eligible."""
