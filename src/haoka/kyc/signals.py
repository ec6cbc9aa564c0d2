from django.dispatch import Signal

#: Staff decided a FLAGGED check (kwargs: order_ref, status "PASSED" | "REJECTED",
#: reason_code, now). Sent inside the review's transaction, so a failing receiver rolls the
#: review back; the order flow moves the order out of KYC_REVIEW here.
kyc_reviewed = Signal()
