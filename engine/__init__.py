"""Relais: protocols and document routing for social workers in police and gendarmerie units."""
