"""Activity figures: the ISCG's « bilan chiffré », counted from codes, never from records."""
