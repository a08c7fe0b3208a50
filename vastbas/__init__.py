"""Västbas: a workflow service for the Västbas collaboration model around a child."""
