"""The office's account pages: create, change, reset a password, deactivate; every change recorded."""
