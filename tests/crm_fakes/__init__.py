"""Local stand-ins for Salesforce and HubSpot, answering with the documented request and response shapes
so tests drive the real client libraries (simple-salesforce, hubspot-api-client) over 127.0.0.1.
Test code only: product code never imports this package."""

from tests.crm_fakes.hubspot import HubSpotFake
from tests.crm_fakes.salesforce import SalesforceFake

__all__ = ["HubSpotFake", "SalesforceFake"]
