"""Vaccine supply (疫苗供应): lots, deliveries, transfers, opened vials, stock and wastage.

The one place these rules live: services.py records (delivery_record, transfer_record,
vial_for_shot, vial_discard, vials_discard_end_of_day), selectors.py computes the stock from
the records (stock_by_site_lot, lots_usable, days_of_stock, booked_vs_stock, supply_alerts).

Stock is never a counter: for a site and a lot,
  received  = doses delivered + doses transferred in − doses transferred out
  given     = the vaccinations of that lot at that site
  wasted    = the doses left in its discarded vials (counted when the vial is discarded)
  on hand   = received − given − wasted
of which `sealed_vials` × doses per vial are in unopened vials (received vials − vials opened)
and the rest (`in_open_vials`) is still in vials opened today and not yet discarded.
"""
