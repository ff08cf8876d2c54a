"""CRM write-back: EQLs upserted into Salesforce or HubSpot, and their outcomes read back.

``payload`` (pure) decides what an EQL looks like in the CRM; ``clients`` speak to each CRM through its
mainstream client library; ``services`` run a sync (write, then read back) and record it.
"""
