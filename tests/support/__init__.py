"""Test support: real servers and fixtures. Nothing here mocks a protocol client."""
