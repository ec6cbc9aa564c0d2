"""Sponsors (后向客户), their wallets' top-ups, campaigns and the budget slices lines take."""
