"""Test infrastructure shared by the integration, contract and end-to-end suites."""
