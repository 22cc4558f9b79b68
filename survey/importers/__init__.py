"""Importers of other surveys' data into waves of a series (through survey.services)."""
