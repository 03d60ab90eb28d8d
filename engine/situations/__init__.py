"""Situations: the people a situation concerns, the blind-index search, the register of people
received and the notes of a situation."""
