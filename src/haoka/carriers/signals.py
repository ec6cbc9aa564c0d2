from django.dispatch import Signal

#: A verified, first-seen carrier event (kwargs: carrier, event: dict, now). Sent inside the
#: transaction that records the event, so a failing receiver rolls the record back and the
#: carrier's retry is processed again.
carrier_event = Signal()
