"""Routing: the one door out (deliveries), inboxes, receipts."""
