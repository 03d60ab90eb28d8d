"""The ITP (Instance de Travail Partenarial) session calendar of a departmental council."""
