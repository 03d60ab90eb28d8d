"""Territories: the partner organisations each territory's protocols send to."""
