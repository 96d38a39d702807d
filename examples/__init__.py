"""Example applications that use the scheduler from their own code."""
