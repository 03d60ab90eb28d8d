"""The French working calendar: public holidays, working days, due dates for reminders."""
