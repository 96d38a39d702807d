"""Idempotent deployment of the worker and everything the scheduler needs on AWS."""
