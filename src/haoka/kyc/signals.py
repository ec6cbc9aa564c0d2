from django.dispatch import Signal

#: Staff decided a FLAGGED check (kwargs: order_ref, status "PASSED" | "REJECTED",
#: reason_code, now). Sent inside the review's transaction, so a failing receiver rolls the
#: review back; the order flow moves the order out of KYC_REVIEW here.
kyc_reviewed = Signal()

#: A staff review of ``order_ref`` is about to take its locks (kwargs: order_ref). Sent first
#: inside the review's transaction, so receivers can lock their own rows before the kyc
#: domain locks its: the order flow locks the order here, which every other path that
#: touches a check's 一证五号 slot (the consumer's check, cancelling) locks first too, so no
#: two of them wait on each other in a cycle.
kyc_review_starting = Signal()
